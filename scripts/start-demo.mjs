#!/usr/bin/env node
/**
 * `npm start`: builds if needed, starts the sample render and `farmgate serve --config
 * config/farmgate.yaml`, prints what to try. Ctrl-C stops both.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/cli/index.js');
// Overridable so the demo itself can be tested on free ports.
const configFile = process.env.FARMGATE_DEMO_CONFIG ?? path.join(root, 'config/farmgate.yaml');
const renderPort = process.env.FARMGATE_DEMO_RENDER_PORT ?? '4503';
const publicUrl = process.env.FARMGATE_DEMO_URL ?? 'http://127.0.0.1:8080';

function newestMtime(dir) {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

const stale = !fs.existsSync(cli) || newestMtime(path.join(root, 'src')) > fs.statSync(cli).mtimeMs;
if (stale) {
  console.log('building farmgate (npm run build)…');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const children = [];
const start = (cmd, args, name, env = {}) => {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the demo`);
      stop(code ?? 1);
    }
  });
  children.push(child);
};
let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

start(process.execPath, [path.join(root, 'scripts/sample-render.mjs')], 'sample render', { PORT: renderPort });
start(process.execPath, [cli, 'serve', '--config', configFile], 'farmgate');

setTimeout(() => {
  console.log(`
farmgate demo is up: farmgate on ${publicUrl} (admin http://127.0.0.1:9180), sample render on http://127.0.0.1:${renderPort}

Try (in another terminal):
  curl -si -H 'Host: site-a.local' ${publicUrl}/content/site-a/en.html | grep -iE 'x-cache|rendered'   # MISS
  curl -si -H 'Host: site-a.local' ${publicUrl}/content/site-a/en.html | grep -iE 'x-cache|rendered'   # HIT, same time
  curl -si -H 'CQ-Action: Activate' -H 'CQ-Handle: /content/site-a/en' ${publicUrl}/dispatcher/invalidate.cache
  curl -si -H 'Host: site-a.local' ${publicUrl}/content/site-a/en.html | grep -iE 'x-cache|rendered'   # MISS, new time
  node dist/cli/index.js explain --config config/farmgate.yaml --handle /content/site-a/en
  ls -la var/cache/site-a/content/site-a/    # the cached files, their .h sidecars and .stat files

Ctrl-C stops both.
`);
}, 1200).unref();
