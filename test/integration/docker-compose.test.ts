// docker-compose.yml, checked statically (Docker does not run here): every service has a
// healthcheck, every file it mounts or names exists, no host port is published twice,
// every depends_on names a service; plus the files it uses: config/farmgate.compose.yaml
// is a valid farmgate config and nginx/compose.conf passes `nginx -t`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

import { binaryPath, freePort, hasBinary, renderTemplate, templates } from '../../support/front-servers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const composeFile = path.join(root, 'docker-compose.yml');

type Dict = Record<string, unknown>;
interface Service extends Dict {
  image?: string;
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
    for (const name of ['redis', 'render', 'web1', 'web2', 'nginx']) assert.ok(services[name], `service ${name} missing`);
    assert.match(String(services.redis?.image), /^redis:7-alpine$/);
    assert.match(String(services.nginx?.image), /^nginx:1\.27-alpine$/);
    for (const name of ['render', 'web1', 'web2']) assert.match(String(services[name]?.image), /^node:20/);
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
    }
    // The compose nginx config is a file, not a folder docker would create on the fly.
    assert.ok(statSync(path.join(root, 'nginx', 'compose.conf')).isFile());
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

describe('nginx/compose.conf', () => {
  it('passes nginx -t (web1/web2 pointed at 127.0.0.1)', async () => {
    if (!hasBinary('nginx')) assert.fail('nginx not installed: run apt-get install nginx (the .ci/run does)');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'farmgate-compose-nginx-'));
    try {
      await chmod(dir, 0o755);
      await mkdir(path.join(dir, 'logs'));
      await mkdir(path.join(dir, 'tmp'));
      const site = (await readFile(path.join(root, 'nginx', 'compose.conf'), 'utf8'))
        .replace(/\bweb[12]:8080\b/g, '127.0.0.1:8080')
        .replaceAll('/var/log/nginx/', `${dir}/logs/`)
        .replace(/listen 80;/, `listen 127.0.0.1:${await freePort()};`);
      assert.doesNotMatch(site, /\{\{/, 'compose.conf has template placeholders');
      const siteConf = path.join(dir, 'compose.conf');
      const mainConf = path.join(dir, 'nginx.conf');
      await writeFile(siteConf, site);
      await writeFile(mainConf, await renderTemplate(templates.nginxMain, { PREFIX: dir, WORKER_PROCESSES: '1', SITE_CONF: siteConf }));
      const out = await new Promise<{ code: number; text: string }>((resolve) => {
        execFile(binaryPath('nginx') as string, ['-t', '-p', dir, '-c', mainConf, '-e', path.join(dir, 'logs', 'error.log')],
          { timeout: 10_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, text: `${stdout}${stderr}` }));
      });
      assert.equal(out.code, 0, out.text);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
