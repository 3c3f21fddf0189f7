#!/usr/bin/env node
/**
 * `npm start`: builds if needed, starts the sample render and `farmgate serve --config
 * config/farmgate.yaml`, prints what to try. Ctrl-C stops both.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

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

/** `host:port` (or a bare port) as in server.listen → { host, port }. */
function address(value, fallbackHost = '127.0.0.1') {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(String(value));
  return m ? { host: m[1] ?? m[2], port: Number(m[3]) } : { host: fallbackHost, port: Number(value) };
}

/** Resolves when something can be bound on host:port, else rejects with the error code. */
function canBind({ host, port }) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err) => reject(err));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** Resolves once a TCP connection to host:port succeeds (the service is up), or after `ms`. */
async function waitForPort({ host, port }, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !stopping) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, host, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

let demoConfig;
try {
  demoConfig = parse(fs.readFileSync(configFile, 'utf8')) ?? {};
} catch (err) {
  console.error(`npm start: cannot read ${configFile}: ${err.message}`);
  process.exit(1);
}
const ports = [
  { what: 'the sample render (FARMGATE_DEMO_RENDER_PORT)', at: address(renderPort) },
  { what: `farmgate (server.listen in ${path.relative(process.cwd(), configFile) || configFile})`, at: address(demoConfig.server?.listen ?? '127.0.0.1:8080') },
  ...(demoConfig.server?.admin ? [{ what: `farmgate's admin listener (server.admin in ${path.relative(process.cwd(), configFile) || configFile})`, at: address(demoConfig.server.admin) }] : []),
];
for (const { what, at } of ports) {
  try {
    await canBind(at);
  } catch (err) {
    const why = err.code === 'EADDRINUSE' ? 'is in use (a demo already running? stop it with Ctrl-C in its terminal, or stop what holds the port)' : `cannot be used (${err.code ?? err.message})`;
    console.error(`npm start: port ${at.port} on ${at.host} for ${what} ${why}`);
    process.exit(1);
  }
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
// The node flags of the `farmgate` command: its `#!/usr/bin/env -S node …` line (src/cli/index.ts).
const nodeFlags = (/^#!\S*env -S node((?: --\S+)*)\s*$/.exec(fs.readFileSync(cli, 'utf8').split('\n', 1)[0])?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
start(process.execPath, [...nodeFlags, cli, 'serve', '--config', configFile], 'farmgate');

const [renderUp, farmgateUp] = await Promise.all([waitForPort(address(renderPort)), waitForPort(ports[1].at)]);
if (!stopping && renderUp && farmgateUp) {
  console.log(`
farmgate demo is up: farmgate on ${publicUrl}${ports[2] ? ` (admin http://${ports[2].at.host}:${ports[2].at.port}/admin)` : ''}, sample render on http://127.0.0.1:${renderPort}

Try (in another terminal):
  curl -si -H 'Host: site-a.local' ${publicUrl}/content/site-a/en.html | grep -iE 'x-cache|rendered'   # MISS
  curl -si -H 'Host: site-a.local' ${publicUrl}/content/site-a/en.html | grep -iE 'x-cache|rendered'   # HIT, same time
  curl -si -H 'CQ-Action: Activate' -H 'CQ-Handle: /content/site-a/en' ${publicUrl}/dispatcher/invalidate.cache
  curl -si -H 'Host: site-a.local' ${publicUrl}/content/site-a/en.html | grep -iE 'x-cache|rendered'   # MISS, new time
  node dist/cli/index.js explain --config config/farmgate.yaml --handle /content/site-a/en
  ls -la var/cache/site-a/content/site-a/    # the cached files, their .h sidecars and .stat files

Ctrl-C stops both.
`);
} else if (!stopping) {
  console.error('npm start: the demo did not come up within 30 s; see the messages above');
  stop(1);
}
