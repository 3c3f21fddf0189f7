/**
 * The Apache httpd 2.4 configuration `farmgate front apache` writes (contract section 3a): a
 * complete main `httpd.conf` for `apache2 -d DIR -f DIR/httpd.conf -DFOREGROUND`, and
 * `farmgate.conf`, the virtual host an existing Apache can include instead (apache/README.md
 * explains both, block by block).
 */
import type { FrontModel } from './model.js';

export interface ApacheOptions {
  readonly dir: string;
  readonly listen: string;
  readonly modulesDir: string;
  readonly user: string;
  readonly source: string;
  readonly decideEndpoint?: boolean;
  readonly flushBodyBytes: number;
  /** no hits: every request is proxied (Apache → farmgate) */
  readonly proxyOnly?: boolean;
  /** mod_farmgate.so, the C fast path, when built */
  readonly fastModule?: string;
}

const header = (o: ApacheOptions, what: string) => `# ${what}
# Written by \`farmgate front apache\` from ${o.source}. Do not edit: change farmgate's config,
# run \`farmgate front apache --config ... --out ${o.dir}\` again, then reload Apache
# (\`apache2 -d ${o.dir} -f ${o.dir}/httpd.conf -k graceful\`). apache/README.md explains every block.
`;

/** Apache's `Listen` and `<VirtualHost>` want host:port; a bare port listens everywhere. */
function vhostAddress(listen: string): string {
  return /^\d+$/.test(listen) ? `*:${listen}` : listen;
}

const MODULES = [
  ['mpm_event_module', 'mod_mpm_event.so'],
  ['unixd_module', 'mod_unixd.so'],
  ['authz_core_module', 'mod_authz_core.so'],
  ['mime_module', 'mod_mime.so'],
  ['log_config_module', 'mod_log_config.so'],
  ['headers_module', 'mod_headers.so'],
  ['alias_module', 'mod_alias.so'],
  ['proxy_module', 'mod_proxy.so'],
  ['proxy_http_module', 'mod_proxy_http.so'],
  ['filter_module', 'mod_filter.so'],
  ['deflate_module', 'mod_deflate.so'],
  ['lua_module', 'mod_lua.so'],
] as const;

export function apacheMain(_model: FrontModel, o: ApacheOptions): string {
  const d = o.dir;
  const modules = MODULES.map(([name, file]) => `<IfModule !${name}>\n    LoadModule ${name} ${o.modulesDir}/${file}\n</IfModule>`).join('\n');
  return `${header(o, 'Apache httpd in front of farmgate: fresh hits answered by Apache itself, everything else proxied.')}
ServerRoot "${d}"
ServerName localhost
PidFile "${d}/run/httpd.pid"
DefaultRuntimeDir "${d}/run"
ErrorLog "${d}/logs/error.log"
LogLevel warn

# Each module only if it is not built in (Debian builds mod_unixd into the binary).
${modules}

${
  o.fastModule
    ? `# mod_farmgate, the C fast path for the hits the Lua hook planned (built here with apxs from
# src/front/module/mod_farmgate.c; without it every hit is answered by mod_lua, more slowly).
LoadModule farmgate_module "${o.fastModule}"
`
    : ''
}
Listen ${o.listen}
# Apache refuses to serve as root: started as root, the children switch to this user, which
# must be able to read the docroots and ${d}/lua. Ignored when not started as root.
User ${o.user}
Group ${o.user}

TypesConfig /etc/mime.types
ServerTokens Prod
ServerSignature Off
TraceEnable Off
Timeout 60
KeepAlive On
KeepAliveTimeout 15
MaxKeepAliveRequests 10000
EnableSendfile On

StartServers 2
ServerLimit 4
ThreadsPerChild 25
MaxRequestWorkers 100
MinSpareThreads 25
MaxSpareThreads 75

# Nothing is served from disk but the docroots (farmgate.conf grants them). FollowSymLinks:
# without it Apache lstat()s every folder above a docroot on every request.
<Directory />
    Require all denied
    AllowOverride None
    Options FollowSymLinks
</Directory>

Include "${d}/farmgate.conf"
`;
}

export function apacheSite(model: FrontModel, o: ApacheOptions): string {
  const d = o.dir;
  const hits = !o.proxyOnly;
  const flushLimit = o.flushBodyBytes * 2;
  const docroots = [...new Set(model.farms.map((f) => f.docroot))]
    .map(
      (root) => `
    <Directory "${root}">
        Require all granted
        # Symlinks are checked by the Lua (handed to farmgate); no per-request lstat here.
        Options FollowSymLinks
        AllowOverride None
    </Directory>`,
    )
    .join('\n');
  const own = model.ownPaths
    .map(
      (p) => `
    # farmgate's own endpoint: invalidate-and-refetch bodies up to ${flushLimit} bytes (farmgate
    # answers 413 above server.limits.flushBodyBytes). Apache does not apply LimitRequestBody to
    # a body mod_proxy streams, hence the Content-Length check (Redirect with a non-3xx status
    # answers that status).
    <Location "${p}">
        LimitRequestBody ${flushLimit}
        <If "%{HTTP:Content-Length} -gt ${flushLimit}">
            Redirect 413
        </If>
    </Location>`,
    )
    .join('\n');
  return `${header(o, 'farmgate front for Apache httpd 2.4: the virtual host (Include it from the main config).')}
${hits ? `# The Lua code: the route decision (farmgate_route.lua), the hit (farmgate_apache.lua), the rules
# generated from farmgate's config (farmgate_config.lua). Up to 4 Lua states per child process,
# shared by its threads (each learns the routes it sees: fewer states learn them sooner than one
# per thread); the code is loaded once (no stat of the script per request).
LuaPackagePath "${d}/lua/?.lua"
LuaScope server 1 4
LuaCodeCache forever
` : ''}
<VirtualHost ${vhostAddress(o.listen)}>
    ServerName farmgate-front
    LogFormat "%a %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\" cache=%{X-Cache}o front=%{farmgate-front}n rt=%D" farmgate
    CustomLog "${d}/logs/access.log" farmgate
    ErrorLog "${d}/logs/error.log"

${hits ? `    # ---- the decision: one Lua hook, before Apache decodes the URL
    # A hit sets r.uri to the file's path, mapped below this DocumentRoot to exactly that file;
    # anything else is proxied to farmgate with the URL as the client sent it.
    DocumentRoot "/"
    AllowEncodedSlashes NoDecode
    # farmgate answers 431 for request headers over server.limits.headerBytes itself; let such
    # requests through to it instead of Apache's own 400.
    LimitRequestFieldSize ${Math.max(8190, model.headerBytes * 2)}
    LuaHookPreTranslateName "${d}/lua/farmgate_apache.lua" farmgate_pre_translate
    # With mod_farmgate loaded: a request line the Lua answered as a fresh hit is answered the
    # same way, without entering Lua, until anything differs from what the Lua planned for.
    <IfModule farmgate_module>
        FarmgateFastHits On
    </IfModule>
${docroots}

    # ---- hits: the stored headers the default handler and mod_mime would derive from the file
    Header set Content-Type "%{FARMGATE_TYPE}e" env=FARMGATE_TYPE
    Header set ETag "%{FARMGATE_ETAG}e" env=FARMGATE_ETAG
    Header unset ETag env=FARMGATE_NO_ETAG
    Header set Last-Modified "%{FARMGATE_LM}e" env=FARMGATE_LM
    Header unset Last-Modified env=FARMGATE_NO_LM
    # The file went away between the decision and its opening (a flush): farmgate answers.
    ErrorDocument 403 /.farmgate-fallback
    ErrorDocument 404 /.farmgate-fallback
` : `    # --proxy-only: every request goes to farmgate, the URL exactly as the client sent it.
    AllowEncodedSlashes NoDecode
    ProxyPass "/" "http://${model.upstream}/" nocanon
`}
    # ---- everything else: farmgate
    ProxyRequests Off
    ProxyPreserveHost On
    # X-Forwarded-For (the client appended), X-Forwarded-Host (the Host as sent), X-Forwarded-Server
    ProxyAddHeaders On
    ProxyVia Off
    RequestHeader set X-Forwarded-Proto "http"
    # farmgate answers an invalidate-and-refetch flush once every URI has been fetched
    ProxyTimeout 300
    # A pooled connection worker for farmgate (the Lua hook proxies to this URL).
    <Proxy "http://${model.upstream}">
        ProxySet keepalive=On connectiontimeout=5 timeout=300 ttl=60 retry=0
        # farmgate answers Range requests itself: Apache must not cut its answers again.
        MaxRanges none
    </Proxy>
${own}

    # Compression for clients that ask for it (farmgate stores and serves plain files); the
    # condition keeps mod_deflate's "Vary: Accept-Encoding" off the other answers, as nginx does.
    <If "req_novary('Accept-Encoding') =~ /gzip/i">
        AddOutputFilterByType DEFLATE text/html text/css text/javascript application/javascript application/json application/xml image/svg+xml
    </If>
</VirtualHost>
`;
}
