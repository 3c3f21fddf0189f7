/**
 * `farmgate front nginx|apache` as a user runs it: what it writes, what it says about the C fast
 * path (built, or why not), and its usage errors. The servers themselves run in
 * test/integration/fast-hits.test.ts and test/conformance/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const cli = path.resolve('src/cli/index.ts');
const tsx = import.meta.resolve('tsx');
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', tsx, cli, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });

describe('farmgate front', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-front-cli-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  for (const kind of ['nginx', 'apache'] as const) {
    const main = kind === 'nginx' ? 'nginx.conf' : 'httpd.conf';
    const so = kind === 'nginx' ? 'ngx_http_farmgate_module.so' : 'mod_farmgate.so';

    it(`${kind}: writes the configuration and builds the C fast path, and says so`, async () => {
      if (kind === 'nginx' && !existsSync('/usr/share/nginx/src/configure')) assert.fail("nginx's sources are not installed: apt-get install nginx-dev (.ci/run does)");
      const out = path.join(dir, `${kind}-fast`);
      const r = run(['front', kind, '--config', 'config/farmgate.yaml', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^wrote \\d+ files to ${out}: ${kind} listens on 127\\.0\\.0\\.1:8081, answers fresh hits`));
      assert.match(r.stdout, new RegExp(`hits: {3}the C fast path, built: ${out}/module/${so}\\n`));
      assert.ok(existsSync(path.join(out, 'module', so)));
      assert.ok((await fs.readFile(path.join(out, main), 'utf8')).includes(`${out}/module/${so}`));
    });

    it(`${kind} --lua-only: no module, and the output says the hits are the Lua's`, async () => {
      const out = path.join(dir, `${kind}-lua`);
      const r = run(['front', kind, '--config', 'config/farmgate.yaml', '--out', out, '--lua-only']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /hits: {3}Lua only: --lua-only/);
      assert.ok(!existsSync(path.join(out, 'module', so)));
      assert.doesNotMatch(await fs.readFile(path.join(out, main), 'utf8'), /farmgate_module|ngx_http_farmgate_module/);
    });

    it(`${kind} --proxy-only: no hits, so nothing about them`, async () => {
      const out = path.join(dir, `${kind}-proxy`);
      const r = run(['front', kind, '--config', 'config/farmgate.yaml', '--out', out, '--proxy-only']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /proxies every request to farmgate/);
      assert.doesNotMatch(r.stdout, /hits: /);
      assert.ok(!existsSync(path.join(out, 'module')));
    });
  }

  it('without the build tools the front is written all the same, and the output says why there is no module', async () => {
    // a PATH without apxs, nginx or a compiler (node itself runs by its full path)
    const bin = path.join(dir, 'empty-bin');
    await fs.mkdir(bin);
    const out = path.join(dir, 'apache-no-tools');
    const r = run(['front', 'apache', '--config', 'config/farmgate.yaml', '--out', out], { PATH: bin });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /hits: {3}Lua only: apxs not found \(apt-get install apache2-dev\)/);
    assert.doesNotMatch(await fs.readFile(path.join(out, 'httpd.conf'), 'utf8'), /LoadModule farmgate_module/);
  });

  it('usage errors: an unknown server, a bad --listen', () => {
    const kind = run(['front', 'lighttpd', '--config', 'config/farmgate.yaml', '--out', path.join(dir, 'x')]);
    assert.equal(kind.status, 2);
    assert.match(kind.stderr, /expected "nginx" or "apache", got "lighttpd"/);
    const listen = run(['front', 'nginx', '--config', 'config/farmgate.yaml', '--out', path.join(dir, 'y'), '--listen', 'not a port']);
    assert.equal(listen.status, 2);
    assert.match(listen.stderr, /--listen expects "host:port" or a port/);
  });
});
