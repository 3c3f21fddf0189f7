// docker-compose.yml, checked statically (Docker does not run here): every service has a
// healthcheck, every file it mounts or names exists, no host port is published twice,
// every depends_on names a service; plus the files it uses: config/farmgate.compose.yaml
// is a valid farmgate config, the front `farmgate front nginx` writes from it passes
// `nginx -t`, and the load balancer's nginx/compose-lb.conf does too.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

import { generateFront } from '../../src/front/generate.js';
import { binaryPath, freePort, hasBinary } from '../../support/front-servers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const composeFile = path.join(root, 'docker-compose.yml');

type Dict = Record<string, unknown>;
interface Service extends Dict {
  image?: string;
  build?: Dict;
  network_mode?: string;
  command?: string | string[];
  volumes?: (string | Dict)[];
  ports?: (string | number | Dict)[];
  depends_on?: string[] | Record<string, Dict>;
  healthcheck?: Dict;
}

async function loadCompose(): Promise<{ services: Record<string, Service>; volumes: Dict }> {
  // merge: docker compose honours YAML merge keys (`<<: *node`)
  const doc = parse(await readFile(composeFile, 'utf8'), { merge: true }) as Dict;
  assert.ok(doc && typeof doc === 'object', 'docker-compose.yml is not a mapping');
  const services = doc.services as Record<string, Service>;
  assert.ok(services && typeof services === 'object', 'no services');
  return { services, volumes: (doc.volumes ?? {}) as Dict };
}

/** Host side of a short-syntax or long-syntax volume, with its type. */
function volumeSources(svc: Service): { source: string; bind: boolean }[] {
  return (svc.volumes ?? []).map((v) => {
    if (typeof v === 'string') {
      const source = v.split(':')[0] as string;
      return { source, bind: source.startsWith('.') || source.startsWith('/') || source.startsWith('~') };
    }
    const source = String(v.source ?? '');
    return { source, bind: v.type === 'bind' };
  });
}

/** Published host ports ("8000:80", "127.0.0.1:8000:80/tcp", long syntax). */
function hostPorts(svc: Service): string[] {
  return (svc.ports ?? []).flatMap((p) => {
    if (typeof p === 'object') return p.published === undefined ? [] : [`${String(p.host_ip ?? '')}:${String(p.published)}`];
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    if (parts.length < 2) return []; // container port only: docker picks a host port
    const published = parts[parts.length - 2] as string;
    const ip = parts.length > 2 ? parts.slice(0, -2).join(':') : '';
    return [`${ip}:${published}`];
  });
}

function commandText(svc: Service): string {
  return Array.isArray(svc.command) ? svc.command.join(' ') : String(svc.command ?? '');
}

describe('docker-compose.yml', () => {
  it('parses and has the web farm services', async () => {
    const { services } = await loadCompose();
    for (const name of ['redis', 'render', 'web1', 'web2', 'front1', 'front2', 'nginx']) assert.ok(services[name], `service ${name} missing`);
    assert.match(String(services.redis?.image), /^redis:7-alpine$/);
    assert.match(String(services.nginx?.image), /^nginx:1\.27-alpine$/);
    for (const name of ['render', 'web1', 'web2']) assert.match(String(services[name]?.image), /^node:20/);
  });

  it('puts an nginx front written by `farmgate front nginx` next to each farmgate, reading its docroot', async () => {
    const { services } = await loadCompose();
    for (const n of ['1', '2']) {
      const front = services[`front${n}`] as Service;
      assert.equal(front.network_mode, `service:web${n}`, 'the front reaches its farmgate at server.listen on loopback');
      assert.match(commandText(front), /dist\/cli\/index\.js front nginx --config config\/farmgate\.compose\.yaml --out (\S+) .*exec nginx -p \1 -c \1\/nginx\.conf/);
      const cache = volumeSources(front).find((v) => v.source === `web${n}-cache`);
      assert.ok(cache, `front${n} does not mount web${n}'s docroot volume`);
      const mount = (front.volumes ?? []).find((v) => typeof v === 'string' && v.startsWith(`web${n}-cache:`)) as string;
      const web = services[`web${n}`] as Service;
      const webMount = (web.volumes ?? []).find((v) => typeof v === 'string' && v.startsWith(`web${n}-cache:`)) as string;
      assert.equal(mount.split(':')[1], webMount.split(':')[1], 'the docroots are at the same path in both containers');
      assert.match(mount, /:ro$/, 'the front only reads the docroot');
      const deps = front.depends_on as Record<string, Dict>;
      assert.equal(deps?.[`web${n}`]?.condition, 'service_healthy');
    }
    const lb = await readFile(path.join(root, 'nginx', 'compose-lb.conf'), 'utf8');
    assert.match(lb, /server web1:80/);
    assert.match(lb, /server web2:80/);
  });

  it('gives every service a healthcheck', async () => {
    const { services } = await loadCompose();
    for (const [name, svc] of Object.entries(services)) {
      const hc = svc.healthcheck;
      assert.ok(hc && typeof hc === 'object', `${name} has no healthcheck`);
      assert.notEqual(hc.disable, true, `${name} disables its healthcheck`);
      assert.ok(Array.isArray(hc.test) || typeof hc.test === 'string', `${name}: healthcheck.test missing`);
    }
    const hc = (name: string): string => JSON.stringify(services[name]?.healthcheck?.test);
    assert.match(hc('redis'), /redis-cli.*ping/);
    assert.match(hc('web1'), /9180\/healthz/);
    assert.match(hc('web2'), /9180\/healthz/);
    assert.match(hc('nginx'), /\/nginx-health/);
    assert.match(hc('front1'), /\/nginx-health/);
    assert.match(hc('front2'), /\/nginx-health/);
  });

  it('mounts and names only files that exist in the repo', async () => {
    const { services, volumes } = await loadCompose();
    for (const [name, svc] of Object.entries(services)) {
      for (const { source, bind } of volumeSources(svc)) {
        if (bind) {
          assert.ok(!path.isAbsolute(source) && !source.startsWith('~'), `${name}: bind mount ${source} is outside the repo`);
          assert.ok(existsSync(path.join(root, source)), `${name}: bind mount ${source} does not exist`);
        } else {
          assert.ok(source in volumes, `${name}: named volume ${source} is not declared under volumes:`);
        }
      }
      for (const m of commandText(svc).matchAll(/--config\s+(\S+)/g)) {
        const cfg = m[1] as string;
        assert.ok(existsSync(path.join(root, cfg)), `${name}: --config ${cfg} does not exist`);
      }
      if (svc.build) {
        const file = path.join(root, String(svc.build.context ?? '.'), String(svc.build.dockerfile ?? 'Dockerfile'));
        assert.ok(existsSync(file), `${name}: ${String(svc.build.dockerfile)} does not exist`);
      }
    }
    // The load balancer's config is a file, not a folder docker would create on the fly.
    assert.ok(statSync(path.join(root, 'nginx', 'compose-lb.conf')).isFile());
  });

  it('runs a render script that exists, listening beyond loopback', async () => {
    const { services } = await loadCompose();
    const render = services.render as Service;
    const script = /node\s+(scripts\/\S+\.m?js)/.exec(commandText(render))?.[1];
    assert.ok(script, 'render runs no node scripts/... file');
    assert.ok(existsSync(path.join(root, script)) && statSync(path.join(root, script)).isFile(), `${script} does not exist`);
    const env = (render.environment ?? {}) as Dict;
    assert.equal(String(env.PORT), '4503');
    assert.equal(env.HOST, '0.0.0.0', 'on 127.0.0.1 the render cannot be reached from web1/web2');
  });

  it('publishes no host port twice', async () => {
    const { services } = await loadCompose();
    const owner = new Map<string, string>();
    for (const [name, svc] of Object.entries(services)) {
      for (const hp of hostPorts(svc)) {
        const port = hp.slice(hp.lastIndexOf(':') + 1);
        for (const [other, who] of owner) {
          const otherPort = other.slice(other.lastIndexOf(':') + 1);
          const otherIp = other.slice(0, other.lastIndexOf(':'));
          const ip = hp.slice(0, hp.lastIndexOf(':'));
          const overlap = otherPort === port && (ip === '' || otherIp === '' || ip === otherIp);
          assert.ok(!overlap, `host port ${port} published by both ${who} and ${name}`);
        }
        owner.set(hp, name);
      }
    }
    assert.ok(owner.size >= 1, 'nothing published: the farm cannot be reached from the laptop');
  });

  it('depends only on services that exist, and farmgate waits for redis', async () => {
    const { services } = await loadCompose();
    for (const [name, svc] of Object.entries(services)) {
      const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
      for (const d of deps) {
        assert.ok(d in services, `${name} depends on unknown service ${d}`);
        assert.notEqual(d, name, `${name} depends on itself`);
      }
    }
    for (const web of ['web1', 'web2']) {
      const deps = services[web]?.depends_on as Record<string, Dict>;
      assert.equal(deps?.redis?.condition, 'service_healthy', `${web} must wait for a healthy redis`);
    }
  });

  it('runs web1 and web2 with their own names, secret, config and volumes', async () => {
    const { services } = await loadCompose();
    const env = (s: Service): Dict => (s.environment ?? {}) as Dict;
    const w1 = services.web1 as Service;
    const w2 = services.web2 as Service;
    assert.equal(env(w1).FARMGATE_SERVER_NAME, 'web1');
    assert.equal(env(w2).FARMGATE_SERVER_NAME, 'web2');
    for (const w of [w1, w2]) {
      assert.ok(env(w).FARMGATE_SECRET, 'FARMGATE_SECRET not set');
      assert.match(commandText(w), /serve --config config\/farmgate\.compose\.yaml/);
    }
    const named = (s: Service): string[] => volumeSources(s).filter((v) => !v.bind && v.source !== 'node_modules').map((v) => v.source);
    const shared = named(w1).filter((v) => named(w2).includes(v));
    assert.deepEqual(shared, [], 'web1 and web2 must not share a docroot or state volume');
    assert.ok(named(w1).length >= 1 && named(w2).length >= 1, 'each web server needs its own docroot volume');
  });
});

describe('config/farmgate.compose.yaml', () => {
  const cfgFile = path.join(root, 'config', 'farmgate.compose.yaml');

  it('has the compose web farm shape', async () => {
    const cfg = parse(await readFile(cfgFile, 'utf8')) as Dict;
    const server = cfg.server as Dict;
    assert.equal(server.listen, '0.0.0.0:8080');
    assert.equal(server.admin, '0.0.0.0:9180');
    assert.equal(server.name, '${FARMGATE_SERVER_NAME}');
    assert.ok((server.trustedProxies as string[]).includes('172.16.0.0/12'));
    const farms = cfg.farms as Dict[];
    assert.deepEqual(farms.map((f) => f.name), ['site-a', 'site-b']);
    for (const f of farms) {
      assert.deepEqual((f.renders as Dict[]).map((r) => r.url), ['http://render:4503']);
      assert.ok(path.isAbsolute(String(f.docroot)), `${String(f.name)}: docroot must be on the server's own volume, not in /app`);
    }
    const prop = cfg.propagation as Dict;
    assert.equal(prop.mode, 'redis');
    assert.equal((prop.redis as Dict).url, 'redis://redis:6379');
    assert.equal(prop.secret, '${FARMGATE_SECRET}');
  });

  it('is a valid farmgate config', async () => {
    const { loadConfig } = await import('../../src/config/index.js');
    const config = await loadConfig(cfgFile, { FARMGATE_SERVER_NAME: 'web1', FARMGATE_SECRET: 'compose-demo-secret-change-me' });
    assert.equal(config.farms.length, 2);
  });
});

/** `nginx -t` of a main configuration. */
function nginxTest(dir: string, mainConf: string): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    execFile(binaryPath('nginx') as string, ['-t', '-p', dir, '-c', mainConf, '-e', path.join(dir, 'logs', 'error.log')],
      { timeout: 10_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, text: `${stdout}${stderr}` }));
  });
}

describe('the compose nginx configurations', () => {
  it('the front `farmgate front nginx` writes from config/farmgate.compose.yaml passes nginx -t', async () => {
    if (!hasBinary('nginx')) assert.fail('nginx not installed: run apt-get install nginx libnginx-mod-http-lua (the .ci/run does)');
    const { loadConfig } = await import('../../src/config/index.js');
    const config = await loadConfig(path.join(root, 'config', 'farmgate.compose.yaml'), { FARMGATE_SERVER_NAME: 'web1', FARMGATE_SECRET: 'compose-demo-secret-change-me' });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'farmgate-compose-front-'));
    try {
      await chmod(dir, 0o755);
      const g = await generateFront(config, { kind: 'nginx', out: dir, listen: `127.0.0.1:${await freePort()}`, source: 'config/farmgate.compose.yaml' });
      assert.equal(g.model.upstream, '127.0.0.1:8080', 'server.listen 0.0.0.0:8080 is reached on loopback');
      const out = await nginxTest(dir, path.join(dir, 'nginx.conf'));
      assert.equal(out.code, 0, out.text);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('nginx/compose-lb.conf passes nginx -t (web1/web2 pointed at 127.0.0.1)', async () => {
    if (!hasBinary('nginx')) assert.fail('nginx not installed: run apt-get install nginx (the .ci/run does)');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'farmgate-compose-lb-'));
    try {
      await chmod(dir, 0o755);
      await mkdir(path.join(dir, 'logs'));
      await mkdir(path.join(dir, 'tmp'));
      const site = (await readFile(path.join(root, 'nginx', 'compose-lb.conf'), 'utf8'))
        .replace(/\bweb[12]:80\b/g, '127.0.0.1:80')
        .replaceAll('/var/log/nginx/', `${dir}/logs/`)
        .replace(/listen 80;/, `listen 127.0.0.1:${await freePort()};`);
      const siteConf = path.join(dir, 'compose-lb.conf');
      const mainConf = path.join(dir, 'nginx.conf');
      await writeFile(siteConf, site);
      await writeFile(mainConf, `pid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents {}\nhttp {\n  client_body_temp_path ${dir}/tmp/cb;\n  proxy_temp_path ${dir}/tmp/p;\n  fastcgi_temp_path ${dir}/tmp/f;\n  uwsgi_temp_path ${dir}/tmp/u;\n  scgi_temp_path ${dir}/tmp/s;\n  include ${siteConf};\n}\n`);
      const out = await nginxTest(dir, mainConf);
      assert.equal(out.code, 0, out.text);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
