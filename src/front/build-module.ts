/**
 * Builds the fronts' optional C fast paths from src/front/module into a front's output folder:
 * mod_farmgate with apxs (apache2-dev), ngx_http_farmgate_module against the installed nginx's
 * own sources (nginx-dev). Each returns the module's path, or why it was not built: a front
 * without it answers every hit with its Lua, more slowly (apache/README.md, nginx/README.md).
 * (By hand rather than with node-gyp and friends: apxs and nginx's configure are the build
 * systems these modules must be built with.)
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export type BuiltModule = { readonly built: string } | { readonly skipped: string };

/** An executable on PATH (or in the sbin folders, where apache2 lives), or undefined. */
export function findExecutable(name: string): string | undefined {
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
export async function buildApacheModule(dir: string): Promise<BuiltModule> {
  const apxs = findExecutable('apxs') ?? findExecutable('apxs2');
  if (!apxs) return { skipped: 'apxs not found (apt-get install apache2-dev): hits are answered by mod_lua alone, about half as fast' };
  const work = path.join(dir, 'module');
  await fs.mkdir(work, { recursive: true });
  for (const f of ['mod_farmgate.c', 'farmgate_plan.h']) await fs.copyFile(path.join(moduleSourceDir(), f), path.join(work, f));
  try {
    await promisify(execFile)(apxs, ['-c', '-Wc,-O2', 'mod_farmgate.c'], { cwd: work, timeout: 120_000 });
  } catch (err) {
    const why = ((err as { stderr?: string }).stderr ?? String(err)).trim().split('\n').slice(-3).join(' ');
    return { skipped: `building mod_farmgate with ${apxs} failed (${why}): hits are answered by mod_lua alone` };
  }
  const so = path.join(work, 'mod_farmgate.so');
  await fs.copyFile(path.join(work, '.libs', 'mod_farmgate.so'), so);
  await fs.chmod(so, 0o755);
  // libtool's intermediate files
  for (const f of ['.libs', 'mod_farmgate.la', 'mod_farmgate.lo', 'mod_farmgate.slo', 'mod_farmgate.o']) await fs.rm(path.join(work, f), { recursive: true, force: true });
  return { built: so };
}

const NGINX_DEV_SRC = '/usr/share/nginx/src';
const NGINX_MODULE_CONFIG = `ngx_addon_name=ngx_http_farmgate_module
ngx_module_type=HTTP
ngx_module_name=ngx_http_farmgate_module
ngx_module_srcs="$ngx_addon_dir/ngx_http_farmgate_module.c"
ngx_module_deps="$ngx_addon_dir/farmgate_plan.h"
. auto/module
`;

/**
 * Builds ngx_http_farmgate_module (src/front/module, the nginx front's optional C fast path)
 * into DIR/module against the installed nginx: Debian's nginx-dev ships its sources and
 * configure flags (--with-compat), so the module loads into the distribution's binary. The
 * configure step takes seconds, so a build is kept in the user's cache folder under a hash of
 * the sources and of `nginx -V`. Its path, or why not: the front works without it.
 */
export async function buildNginxModule(dir: string, progress: (line: string) => void = () => {}): Promise<BuiltModule> {
  const run = promisify(execFile);
  const nginx = findExecutable('nginx');
  if (!nginx || !existsSync(path.join(NGINX_DEV_SRC, 'configure')) || !existsSync(path.join(NGINX_DEV_SRC, 'conf_flags'))) {
    return { skipped: `nginx's sources not found in ${NGINX_DEV_SRC} (apt-get install nginx-dev): hits are answered by the Lua alone, more slowly` };
  }
  if (!findExecutable('cc') && !findExecutable('gcc')) return { skipped: 'no C compiler (apt-get install gcc): hits are answered by the Lua alone, more slowly' };
  const sources = await Promise.all(['ngx_http_farmgate_module.c', 'farmgate_plan.h'].map((f) => fs.readFile(path.join(moduleSourceDir(), f))));
  const version = (await run(nginx, ['-V'])).stderr;
  const key = createHash('sha256').update(sources[0]!).update(sources[1]!).update(version).digest('hex').slice(0, 16);
  const out = path.join(dir, 'module');
  await fs.mkdir(out, { recursive: true });
  const so = path.join(out, 'ngx_http_farmgate_module.so');
  const cacheDir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'farmgate');
  const cached = path.join(cacheDir, `ngx_http_farmgate_module-${key}.so`);
  if (await trustedFile(cached)) {
    await fs.copyFile(cached, so);
    return { built: so };
  }
  progress(`building ngx_http_farmgate_module against this nginx (a few seconds, once: kept in ${cacheDir})`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-nginx-module-'));
  try {
    await fs.cp(NGINX_DEV_SRC, path.join(work, 'src'), { recursive: true });
    const mod = path.join(work, 'mod');
    await fs.mkdir(mod);
    await fs.writeFile(path.join(mod, 'config'), NGINX_MODULE_CONFIG);
    await fs.writeFile(path.join(mod, 'ngx_http_farmgate_module.c'), sources[0]!);
    await fs.writeFile(path.join(mod, 'farmgate_plan.h'), sources[1]!);
    const script = `set -e; . ./conf_flags; ./configure "\${NGX_CONF_FLAGS[@]}" --add-dynamic-module=${JSON.stringify(mod)} >configure.log 2>&1 || { tail -5 configure.log >&2; exit 1; }; make -f objs/Makefile modules >make.log 2>&1 || { tail -5 make.log >&2; exit 1; }`;
    await run('bash', ['-c', script], { cwd: path.join(work, 'src'), timeout: 300_000 });
    await fs.copyFile(path.join(work, 'src', 'objs', 'ngx_http_farmgate_module.so'), so);
  } catch (err) {
    const why = ((err as { stderr?: string }).stderr || String(err)).trim().split('\n').slice(-3).join(' ');
    return { skipped: `building ngx_http_farmgate_module failed (${why}): hits are answered by the Lua alone` };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  await fs.chmod(so, 0o755);
  try {
    await fs.mkdir(cacheDir, { recursive: true, mode: 0o700 });
    const tmp = `${cached}.${process.pid}.tmp`;
    await fs.copyFile(so, tmp);
    await fs.rename(tmp, cached);
  } catch {
    // no cache: the next build takes its seconds again
  }
  return { built: so };
}

/** A cached module this user may load: a regular file of this user's, writable by nobody else. */
async function trustedFile(file: string): Promise<boolean> {
  try {
    const st = await fs.lstat(file);
    const dir = await fs.lstat(path.dirname(file));
    const uid = process.getuid?.();
    return st.isFile() && (uid === undefined || (st.uid === uid && dir.uid === uid)) && (st.mode & 0o022) === 0 && (dir.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The C sources shipped with farmgate (src/front/module, found from src/ or dist/, as the Lua). */
function moduleSourceDir(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  return path.join(root, 'src', 'front', 'module');
}
