/**
 * The nginx configuration `farmgate front nginx` writes (contract section 3a): a complete main
 * `nginx.conf` for `nginx -p DIR -c DIR/nginx.conf`, and `farmgate.conf`, the http-level part an
 * existing nginx can include instead (nginx/README.md explains both, block by block).
 */
import type { FrontModel } from './model.js';

export interface NginxOptions {
  /** the output folder, absolute */
  readonly dir: string;
  /** what nginx listens on */
  readonly listen: string;
  /** folder of ngx_http_lua_module.so / ndk_http_module.so; undefined: built in (OpenResty) */
  readonly modulesDir: string | undefined;
  /** nginx's workers' user when started as root */
  readonly user: string;
  /** the farmgate config the file was written from (for the header comment) */
  readonly source: string;
  /** test only: answer requests carrying `X-Farmgate-Decide` with the front's route, in JSON */
  readonly decideEndpoint?: boolean;
  /** server.limits.flushBodyBytes, for the flush location's client_max_body_size */
  readonly flushBodyBytes: number;
  /** no hits: every request is proxied (nginx → farmgate) */
  readonly proxyOnly?: boolean;
  /** ngx_http_farmgate_module.so, the C fast path, when built */
  readonly fastModule?: string;
}

/** Whether the hit location hands planned hits to the C fast path (not with the test-only decision endpoint). */
export function nginxFastHits(o: Pick<NginxOptions, 'fastModule' | 'decideEndpoint' | 'proxyOnly'>): boolean {
  return o.fastModule !== undefined && !o.decideEndpoint && !o.proxyOnly;
}

const header = (o: NginxOptions, what: string) => `# ${what}
# Written by \`farmgate front nginx\` from ${o.source}. Do not edit: change farmgate's config,
# run \`farmgate front nginx --config ... --out ${o.dir}\` again, then reload nginx
# (\`nginx -p ${o.dir} -c ${o.dir}/nginx.conf -s reload\`). nginx/README.md explains every block.
`;

export function nginxMain(model: FrontModel, o: NginxOptions): string {
  const d = o.dir;
  const modules = o.proxyOnly
    ? ''
    : o.modulesDir
    ? `load_module ${o.modulesDir}/ndk_http_module.so;\nload_module ${o.modulesDir}/ngx_http_lua_module.so;\n`
    : '# lua-nginx-module is built in (no load_module needed)\n';
  const fast = nginxFastHits(o)
    ? `# The C fast path for the hits the Lua planned (built here from src/front/module; without it
# every hit is answered by the Lua, more slowly).
load_module ${o.fastModule};
`
    : '';
  return `${header(o, 'nginx in front of farmgate: fresh hits answered by nginx itself, everything else proxied.')}
${modules}${fast}
# Started as root, nginx runs its workers as this user: it must be able to read the docroots
# and ${d}/lua. Ignored (with a warning) when nginx is not started as root.
user ${o.user};
worker_processes auto;
pid ${d}/nginx.pid;
error_log ${d}/logs/error.log warn;

events {
    worker_connections 4096;
}

http {
    # Distro builds compile in /var/lib/nginx/...; keep everything in ${d}.
    client_body_temp_path ${d}/tmp/client_body;
    proxy_temp_path       ${d}/tmp/proxy;
    fastcgi_temp_path     ${d}/tmp/fastcgi;
    uwsgi_temp_path       ${d}/tmp/uwsgi;
    scgi_temp_path        ${d}/tmp/scgi;

    include ${d}/farmgate.conf;
}
`.replace(/\n{3,}/g, '\n\n');
}

export function nginxSite(model: FrontModel, o: NginxOptions): string {
  const d = o.dir;
  const headerBuffer = Math.max(32, Math.ceil((model.headerBytes * 2) / 1024));
  const flushBody = Math.max(1, Math.ceil((o.flushBodyBytes * 2) / (1024 * 1024)));
  const hits = !o.proxyOnly;
  const decide = o.decideEndpoint && hits
    ? `
        # TEST ONLY (--decide-endpoint): the route as the front decides it, in JSON.
        if ($http_x_farmgate_decide) {
            content_by_lua_block { farmgate_decide() }
            break;
        }`
    : '';
  const own = model.ownPaths
    .map(
      (p) => `
    # farmgate's own endpoint, answered before any farm is chosen.
    location = ${p} {
        # invalidate-and-refetch bodies; farmgate answers 413 above server.limits.flushBodyBytes
        client_max_body_size ${flushBody}m;
        # farmgate answers a refetch flush once every URI has been fetched
        proxy_read_timeout 300s;
        proxy_pass http://farmgate$request_uri;
    }
`,
    )
    .join('');
  const lua = `
# The Lua code: the route decision (farmgate_route.lua), the hit (farmgate_nginx.lua), the rules
# generated from farmgate's config (farmgate_config.lua). Loaded once, in the master process.
lua_package_path "${d}/lua/?.lua;;";
lua_transform_underscores_in_response_headers off;
init_by_lua_block {
    local front = require("farmgate_nginx")
    farmgate_hit = front.hit
    farmgate_clear = front.clear
    farmgate_decide = front.decide
}

# Conditional requests are answered by farmgate (its 304 logic is the one to keep).
map "$http_if_none_match$http_if_modified_since$http_if_match$http_if_unmodified_since$http_if_range" $farmgate_conditional {
    ""      "";
    default 1;
}

# Something rare on the request, which the Lua then looks at: a conditional header,
# Authorization, Range. One variable for the common case instead of seven.
map "$farmgate_conditional$http_authorization$http_range" $farmgate_special {
    ""      "";
    default 1;
}
`;
  const hitSettings = `
    # ---- hits: nginx sends the cached file itself
    sendfile on;
    tcp_nopush on;
    # Open files are kept, but every hit checks the name again (0s): a file replaced by a
    # re-render is never answered from the old inode.
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 0s;
    open_file_cache_errors off;
    # Headers come from the .h sidecar (farmgate_nginx.lua), not from the file.
    etag off;
    if_modified_since off;
    uninitialized_variable_warn off;
`;
  const locations = hits
    ? `    # Every request (a regex location, so that \`alias\` below is the whole file path).
    location ~ ^ {${decide}${
        nginxFastHits(o)
          ? `
        # A request line the Lua answered as a fresh hit before: answered the same way by
        # ngx_http_farmgate_module, before the Lua, from @farmgate_hit, until anything differs.
        farmgate_fast_hits on;`
          : ''
      }
        # A fresh HIT: the file to send, with the stored headers set; "" otherwise.
        set_by_lua $farmgate_file 'return farmgate_hit()' $request_method $http_host $request_uri
            $farmgate_special $http_cookie $request_length;
        if ($farmgate_file = "") {
            # (declares the two variables add_header reads below; set by the Lua on hits)
            set $farmgate_etag "";
            set $farmgate_last_modified "";
            return 418;
        }
        # (the access log's front=: who answered a hit, this location's Lua or the C fast path)
        set $farmgate_front lua;
        alias $farmgate_file;
        add_header X-Cache HIT;
        add_header ETag $farmgate_etag;
        add_header Last-Modified $farmgate_last_modified;
        # 418: not a hit. 403/404/500: the file went away (a flush) or changed between the
        # decision and the open: farmgate answers, as it would have.
        error_page 403 404 418 500 = @farmgate;
    }

${
  nginxFastHits(o)
    ? `    # The C fast path's hits: the module has set the stored headers and the request's URI to
    # the file's absolute path, which nginx's static handler sends (root / maps it to itself).
    location @farmgate_hit {
        set $farmgate_front c;
        root /;
        # The file went away between the decision and the open (a flush): farmgate answers.
        error_page 403 404 500 = @farmgate;
    }

`
    : ''
}    location @farmgate {
        # Drops the request headers the client's Connection header names (hop-by-hop), and the
        # replayed headers of a hit whose file went away between the decision and the open.
        set_by_lua $farmgate_cleared 'return farmgate_clear()' $farmgate_file $http_connection;
        set $farmgate_front -;
        # farmgate answers Range requests itself: nginx must not cut its answers again.
        max_ranges 0;
        # The URI exactly as the client sent it: farmgate decides on it (and refuses %2F, //, ..).
        proxy_pass http://farmgate$request_uri;
    }
`
    : `    # --proxy-only: every request goes to farmgate, the URI exactly as the client sent it.
    location / {
        # farmgate answers Range requests itself: nginx must not cut its answers again.
        max_ranges 0;
        proxy_pass http://farmgate$request_uri;
    }
`;
  return `${header(o, `farmgate front for nginx: the http-level part (include it inside http { }).${hits ? '' : ' Proxy only.'}`)}${hits ? lua : ''}
# farmgate chooses the farm from the Host as the client sent it, port included.
map $http_host $farmgate_host {
    ""      $host;
    default $http_host;
}

log_format farmgate '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
                    'cache=$sent_http_x_cache${hits ? ' front=$farmgate_front' : ''} upstream=$upstream_addr rt=$request_time urt=$upstream_response_time';

upstream farmgate {
    server ${model.upstream};
    keepalive 64;
    keepalive_requests 10000;
    # below farmgate's idle keep-alive timeout (75 s)
    keepalive_timeout 60s;
}

server {
    listen ${o.listen};
    server_name _;
    server_tokens off;
    access_log ${d}/logs/access.log farmgate buffer=64k flush=1s;

    # farmgate answers 431 and 414 itself; let such requests through to it.
    large_client_header_buffers 4 ${headerBuffer}k;

    # Compression for clients that ask for it (farmgate stores and serves plain files).
    gzip on;
    gzip_comp_level 5;
    gzip_min_length 1024;
    gzip_proxied any;
    gzip_vary on;
    gzip_types text/css text/javascript application/javascript application/json
               application/xml image/svg+xml;   # text/html is always included
${hits ? hitSettings : ''}
    # ---- everything else: farmgate
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host              $farmgate_host;
    proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host  $farmgate_host;
    proxy_connect_timeout 5s;
    proxy_send_timeout    60s;
    proxy_read_timeout    60s;
    # Small responses buffered in memory so a slow client does not hold a farmgate connection;
    # never spooled to disk: a large one streams at the client's pace.
    proxy_buffering on;
    proxy_buffer_size 16k;
    proxy_buffers 32 16k;
    proxy_busy_buffers_size 64k;
    proxy_max_temp_file_size 0;

${locations}${own}
    # Liveness of nginx itself (load balancers, container health checks).
    location = /nginx-health {
        access_log off;
        default_type text/plain;
        return 200 "ok";
    }
}
`;
}
