/**
 * Writes a front server's configuration into a folder: the server config, the Lua code (copied
 * from src/front/lua) and farmgate_config.lua (the farms' rules, generated). The folder is made
 * readable by the server's workers (they run as www-data when started as root: a script in a
 * 0700 folder fails every request while `-t` passes).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Config } from '../config/index.js';
import { apacheMain, apacheSite, type ApacheOptions } from './apache.js';
import { toLua } from './lua-data.js';
import { buildModel, type FrontModel } from './model.js';
import { nginxMain, nginxSite, type NginxOptions } from './nginx.js';

export type FrontKind = 'nginx' | 'apache';

/** The Lua sources shipped with farmgate (src/front/lua, found from src/ or dist/). */
export function luaSourceDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = path.resolve(here, '..', '..');
  return path.join(root, 'src', 'front', 'lua');
}

const LUA_FILES: Record<FrontKind, string[]> = {
  nginx: ['farmgate_route.lua', 'farmgate_hit.lua', 'farmgate_nginx.lua'],
  apache: ['farmgate_route.lua', 'farmgate_hit.lua', 'farmgate_apache.lua'],
};

export interface GenerateOptions {
  readonly kind: FrontKind;
  readonly out: string;
  readonly listen: string;
  /** the config file's name as given (comments) */
  readonly source: string;
  /** user the workers run as when started as root */
  readonly user?: string;
  /** nginx: folder of the dynamic Lua modules; default: found on the system */
  readonly nginxModules?: string | null;
  /** apache: folder of the modules; default: found on the system */
  readonly apacheModules?: string;
  /** where to reach farmgate, host:port; default: server.listen (a wildcard bind as loopback) */
  readonly upstream?: string;
  /** no hits: the front proxies every request (nginx/Apache → farmgate) */
  readonly proxyOnly?: boolean;
  /** apache: answer hits with mod_lua alone (do not build mod_farmgate, the C fast path) */
  readonly luaOnly?: boolean;
  /** test only */
  readonly decideEndpoint?: boolean;
}

export interface Generated {
  readonly files: string[];
  readonly warnings: string[];
  readonly model: FrontModel;
  /** the command that starts the server */
  readonly start: string;
  /** apache: mod_farmgate.so as built here, or why it was not */
  readonly fastModule?: { readonly built: string } | { readonly skipped: string };
}

const NGINX_MODULE_DIRS = ['/usr/lib/nginx/modules', '/usr/lib64/nginx/modules', '/usr/local/nginx/modules', '/etc/nginx/modules'];
const APACHE_MODULE_DIRS = ['/usr/lib/apache2/modules', '/usr/lib64/httpd/modules', '/etc/httpd/modules', '/usr/lib/httpd/modules', '/usr/local/apache2/modules'];

export function findNginxModules(): string | undefined {
  return NGINX_MODULE_DIRS.find((d) => existsSync(path.join(d, 'ngx_http_lua_module.so')));
}

export function findApacheModules(): string | undefined {
  return APACHE_MODULE_DIRS.find((d) => existsSync(path.join(d, 'mod_lua.so')));
}

/** An executable on PATH (or in the sbin folders), or undefined. */
function onPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    if (d === '') continue;
    const p = path.join(d, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Builds mod_farmgate (src/front/module/mod_farmgate.c, the Apache front's optional C fast
 * path) into DIR/module with apxs (apache2-dev): its path, or why not. The front works without
 * it, with every hit answered by mod_lua.
 */
async function buildApacheModule(dir: string): Promise<{ built: string } | { skipped: string }> {
  const apxs = onPath('apxs') ?? onPath('apxs2');
  if (!apxs) return { skipped: 'apxs not found (apt-get install apache2-dev): hits are answered by mod_lua alone, about half as fast' };
  const work = path.join(dir, 'module');
  await fs.mkdir(work, { recursive: true });
  await fs.copyFile(path.join(moduleSourceDir(), 'mod_farmgate.c'), path.join(work, 'mod_farmgate.c'));
  try {
    await promisify(execFile)(apxs, ['-c', '-Wc,-O2', 'mod_farmgate.c'], { cwd: work, timeout: 120_000 });
  } catch (err) {
    const why = ((err as { stderr?: string }).stderr ?? String(err)).trim().split('\n').slice(-3).join(' ');
    return { skipped: `building mod_farmgate with ${apxs} failed (${why}): hits are answered by mod_lua alone` };
  }
  const so = path.join(work, 'mod_farmgate.so');
  await fs.copyFile(path.join(work, '.libs', 'mod_farmgate.so'), so);
  await fs.chmod(so, 0o755);
  return { built: so };
}

/** The C source shipped with farmgate (src/front/module, found from src/ or dist/). */
function moduleSourceDir(): string {
  return path.join(path.dirname(luaSourceDir()), 'module');
}

/** The farmgate_config.lua text for a model. */
export function configLua(model: FrontModel, kind: FrontKind, extra: Record<string, unknown> = {}): string {
  const data = {
    ...extra,
    farms: model.farms,
    hostsDecidable: model.hostsDecidable,
    upstream: model.upstream,
    ownPaths: model.ownPaths,
    urlBytes: model.urlBytes,
    headerBytes: model.headerBytes,
    tmpMarker: model.tmpMarker,
    types: model.types,
    notReplayed: Object.fromEntries(model.notReplayed.map((n) => [n, true])),
  };
  return `-- Generated by \`farmgate front ${kind}\` from farmgate's config: the farms' rules as the
-- PCRE patterns farmgate's globs compile to. Do not edit; run the command again.
return ${toLua(data)}
`;
}

export async function generateFront(config: Config, o: GenerateOptions): Promise<Generated> {
  const model = buildModel(config, o.upstream ? { upstream: o.upstream } : {});
  const warnings = [...model.warnings];
  const dir = path.resolve(o.out);
  await fs.mkdir(path.join(dir, 'lua'), { recursive: true });
  await fs.mkdir(path.join(dir, 'logs'), { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string) => {
    const file = path.join(dir, name);
    await fs.writeFile(file, text, { mode: 0o644 });
    await fs.chmod(file, 0o644);
    files.push(file);
  };
  for (const name of LUA_FILES[o.kind]) await write(path.join('lua', name), await fs.readFile(path.join(luaSourceDir(), name), 'utf8'));
  const extra = o.kind === 'apache' && o.decideEndpoint ? { decideEndpoint: true } : {};
  await write(path.join('lua', 'farmgate_config.lua'), configLua(model, o.kind, extra));
  const user = o.user ?? 'www-data';
  let start: string;
  let fastModule: Generated['fastModule'];
  if (o.kind === 'nginx') {
    await fs.mkdir(path.join(dir, 'tmp'), { recursive: true });
    const modulesDir = o.nginxModules === null ? undefined : (o.nginxModules ?? findNginxModules());
    if (o.nginxModules === undefined && modulesDir === undefined) {
      warnings.push('ngx_http_lua_module.so not found (apt-get install libnginx-mod-http-lua); nginx.conf loads no module, which is right only when lua-nginx-module is built in');
    }
    const no: NginxOptions = {
      dir,
      listen: o.listen,
      modulesDir,
      user,
      source: o.source,
      flushBodyBytes: config.server.limits.flushBodyBytes,
      ...(o.decideEndpoint ? { decideEndpoint: true } : {}),
      ...(o.proxyOnly ? { proxyOnly: true } : {}),
    };
    await write('nginx.conf', nginxMain(model, no));
    await write('farmgate.conf', nginxSite(model, no));
    start = `nginx -p ${dir} -c ${dir}/nginx.conf`;
  } else {
    await fs.mkdir(path.join(dir, 'run'), { recursive: true });
    const modulesDir = o.apacheModules ?? findApacheModules();
    if (modulesDir === undefined) warnings.push('mod_lua.so not found (apt-get install apache2-bin); httpd.conf names /usr/lib/apache2/modules');
    fastModule = o.proxyOnly ? undefined : o.luaOnly ? { skipped: '--lua-only: hits are answered by mod_lua alone' } : await buildApacheModule(dir);
    const ao: ApacheOptions = {
      dir,
      listen: o.listen,
      modulesDir: modulesDir ?? '/usr/lib/apache2/modules',
      user,
      source: o.source,
      flushBodyBytes: config.server.limits.flushBodyBytes,
      ...(o.decideEndpoint ? { decideEndpoint: true } : {}),
      ...(o.proxyOnly ? { proxyOnly: true } : {}),
      ...(fastModule && 'built' in fastModule ? { fastModule: fastModule.built } : {}),
    };
    await write('httpd.conf', apacheMain(model, ao));
    await write('farmgate.conf', apacheSite(model, ao));
    start = `apache2 -d ${dir} -f ${dir}/httpd.conf -DFOREGROUND`;
  }
  for (const sub of ['', 'lua', 'logs', 'tmp', 'run', 'module']) {
    const p = path.join(dir, sub);
    if (existsSync(p)) await fs.chmod(p, 0o755);
  }
  warnings.push(...(await reachability(dir, config, user)));
  return { files, warnings, model, start, ...(fastModule ? { fastModule } : {}) };
}

/**
 * Folders the workers (another user) cannot traverse: every folder above the output folder and
 * the docroots needs the x bit for others (or belong to that user). A docroot they cannot read
 * is not an error: every request then goes to farmgate, which is slow, so it is said.
 */
async function reachability(dir: string, config: Config, user: string): Promise<string[]> {
  const out: string[] = [];
  const check = async (target: string, what: string) => {
    let p = path.resolve(target);
    while (true) {
      try {
        const st = await fs.stat(p);
        if (st.isDirectory() && (st.mode & 0o001) === 0) {
          out.push(`${what} ${target}: folder ${p} is not searchable by others (mode ${(st.mode & 0o777).toString(8)}); the front's workers (${user}) cannot reach it${what === 'docroot' ? ', so every request of that farm goes to farmgate' : ''}`);
          return;
        }
      } catch {
        /* not created yet */
      }
      const parent = path.dirname(p);
      if (parent === p) return;
      p = parent;
    }
  };
  await check(dir, 'output folder');
  for (const f of config.farms) await check(f.docroot, 'docroot');
  return out;
}
