/**
 * The fronts' C fast paths (src/front/module: mod_farmgate for Apache, ngx_http_farmgate_module
 * for nginx), each behind its real server: the hit the Lua answered first is answered by the
 * module next time, the same bytes and headers as the Lua's and farmgate's; whatever changed
 * since the Lua planned it (a flush, a re-render, a rewritten file, a passing `.ttl`) or
 * whatever the plan was not made for (Authorization, an auth cookie, conditional and Range
 * requests) goes back to the Lua, which decides as without the module. Who answered is read
 * from the access log (`front=c|lua|-`). Needs apxs (apache2-dev) and nginx's sources
 * (nginx-dev); .ci/run installs them: without them this file fails and says so.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { comparableAnswer, httpRequest, oneFarmYaml, startFarmgate, type ComparableAnswer, type TestFarmgate } from '../helpers/farmgate.js';
import { startRender, type TestRender } from '../helpers/render.js';
import { waitFor } from '../helpers/wait.js';
import { existsSync } from 'node:fs';
import { binaryPath, hasBinary, startFront, type FrontServer, type StartFrontOptions } from '../../support/front-servers.js';

type Kind = 'apache' | 'nginx';

const HOST = 'site.local';

type Answer = ComparableAnswer;
const ask = (base: string, p: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> =>
  comparableAnswer(base + p, { host: HOST, headers, method });

async function logLines(front: FrontServer): Promise<string[]> {
  const text = await fs.readFile(front.accessLog, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '');
}

/** A request through the front, with who answered it: "c", "lua" or "-" (proxied to farmgate). */
async function via(front: FrontServer, p: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer & { by: string }> {
  const before = (await logLines(front)).length;
  const answer = await ask(front.url, p, headers, method);
  let line = '';
  // Apache writes the access log line once the response is sent: wait for it.
  await waitFor(`the access log line of ${method} ${p}`, async () => {
    const lines = await logLines(front);
    if (lines.length <= before) return false;
    line = lines[before]!;
    return true;
  });
  const by = / front=(\S+) /.exec(line)?.[1];
  assert.ok(by, `no front= field in ${line}`);
  return { ...answer, by };
}

async function flush(front: FrontServer, handle: string): Promise<void> {
  const res = await httpRequest(`${front.url}/dispatcher/invalidate.cache`, {
    method: 'POST',
    headers: { 'cq-action': 'Activate', 'cq-handle': handle },
    body: '',
  });
  assert.equal(res.status, 200, await res.text());
}

function requireTools(kind: Kind): void {
  if (kind === 'apache') {
    if (!hasBinary('apache2')) assert.fail('apache2 is not installed: apt-get install apache2 (.ci/run does)');
    if (!binaryPath('apxs') && !binaryPath('apxs2')) assert.fail('apxs is not installed, so mod_farmgate cannot be built: apt-get install apache2-dev (.ci/run does)');
  } else {
    if (!hasBinary('nginx')) assert.fail('nginx is not installed: apt-get install nginx libnginx-mod-http-lua (.ci/run does)');
    if (!existsSync('/usr/share/nginx/src/configure')) assert.fail("nginx's sources are not installed, so ngx_http_farmgate_module cannot be built: apt-get install nginx-dev (.ci/run does)");
  }
}

/**
 * One server process: plans are kept per Apache child or nginx worker, and a request on a new
 * connection may reach any of them (with two, the second request of a line can be the other's
 * first). nginx's access log unbuffered, so that each line is there once the answer is.
 */
async function oneProcess(kind: Kind, dir: string): Promise<void> {
  if (kind === 'apache') {
    const conf = path.join(dir, 'httpd.conf');
    const text = (await fs.readFile(conf, 'utf8'))
      .replace(/^StartServers \d+$/m, 'StartServers 1')
      .replace(/^ServerLimit \d+$/m, 'ServerLimit 1')
      .replace(/^MaxRequestWorkers \d+$/m, 'MaxRequestWorkers 25')
      .replace(/^MinSpareThreads \d+$/m, 'MinSpareThreads 5')
      .replace(/^MaxSpareThreads \d+$/m, 'MaxSpareThreads 25');
    assert.match(text, /^ServerLimit 1$/m);
    await fs.writeFile(conf, text);
  } else {
    const conf = path.join(dir, 'nginx.conf');
    const text = (await fs.readFile(conf, 'utf8')).replace(/^worker_processes auto;$/m, 'worker_processes 1;');
    assert.match(text, /^worker_processes 1;$/m);
    await fs.writeFile(conf, text);
    const site = path.join(dir, 'farmgate.conf');
    await fs.writeFile(site, (await fs.readFile(site, 'utf8')).replace(' buffer=64k flush=1s', ''));
  }
}

/** The directive that bounds the plans a process keeps, in the main configuration. */
async function maxPlans(kind: Kind, dir: string, n: number): Promise<void> {
  if (kind === 'apache') {
    const conf = path.join(dir, 'httpd.conf');
    await fs.writeFile(conf, (await fs.readFile(conf, 'utf8')) + `\nFarmgateFastHitsMax ${n}\n`);
  } else {
    const conf = path.join(dir, 'nginx.conf');
    await fs.writeFile(conf, (await fs.readFile(conf, 'utf8')).replace(/^http \{$/m, `http {\n    farmgate_fast_hits_max ${n};`));
  }
}

const LOADS = { apache: /^LoadModule farmgate_module /m, nginx: /^load_module \S+ngx_http_farmgate_module\.so;$/m };
const MAIN = { apache: 'httpd.conf', nginx: 'nginx.conf' };

async function startSetup(
  kind: Kind,
  render: TestRender,
  front: Omit<StartFrontOptions, 'config'> = {},
  cache: Record<string, unknown> = {},
): Promise<{ fg: TestFarmgate; front: FrontServer }> {
  const yaml = oneFarmYaml(render.url, {
    statfileslevel: 2,
    statCheckIntervalMs: 60_000,
    enableTTL: true,
    headers: ['Content-Type', 'ETag', 'Cache-Control', 'X-Custom'],
    ...cache,
  });
  const fg = await startFarmgate(yaml);
  await fs.chmod(fg.dir, 0o755);
  try {
    const { port } = new URL(fg.url);
    const edit = async (dir: string) => {
      await oneProcess(kind, dir);
      await front.edit?.(dir);
    };
    return { fg, front: await startFront(kind, { config: fg.config, upstream: `127.0.0.1:${port}`, ...front, edit }) };
  } catch (err) {
    await fg.close();
    throw err;
  }
}

for (const kind of ['apache', 'nginx'] as const) {
describe(`the C fast path (${kind})`, () => {
  let render: TestRender;
  let version = 1;
  let fg: TestFarmgate;
  let front: FrontServer;
  before(async () => {
    requireTools(kind);
    render = await startRender((req) => ({
      headers: {
        'content-type': 'text/html; charset=utf-8',
        etag: `"v${version}"`,
        'cache-control': req.url?.includes('ttl-short') ? 'max-age=1' : 'max-age=3600',
        'x-custom': `custom ${version}`,
      },
      body: `${req.url} version ${version}`,
    }));
    ({ fg, front } = await startSetup(kind, render));
    assert.match(await fs.readFile(path.join(front.dir, MAIN[kind]), 'utf8'), LOADS[kind]);
  });
  after(async () => {
    await front?.stop();
    await fg?.close();
    await render?.close();
  });

  it('the second hit of a request line is the module\'s: the same status, headers and body as the Lua\'s and farmgate\'s', async () => {
    for (const p of ['/content/a/one.html', '/content/a/two.html', '/content/img.png']) {
      assert.equal((await via(front, p)).by, '-', `${p}: the MISS is farmgate's`);
      const lua = await via(front, p);
      const c = await via(front, p);
      const direct = await ask(fg.url, p);
      assert.equal(lua.by, 'lua', p);
      assert.equal(c.by, 'c', p);
      assert.equal(c.headers['x-cache'], 'HIT', p);
      for (const a of [lua, c]) {
        assert.equal(a.status, direct.status, p);
        assert.deepEqual(a.headers, direct.headers, p);
        assert.equal(a.body, direct.body, p);
      }
    }
  });

  it('HEAD is its own request line: the Lua first, then the module, no body', async () => {
    const lua = await via(front, '/content/a/one.html', {}, 'HEAD');
    const c = await via(front, '/content/a/one.html', {}, 'HEAD');
    const direct = await ask(fg.url, '/content/a/one.html', {}, 'HEAD');
    assert.deepEqual([lua.by, c.by], ['lua', 'c']);
    assert.equal(c.body, '');
    assert.deepEqual(c.headers, direct.headers);
  });

  it('a flush takes effect at once on a page the module answers', async () => {
    assert.equal((await via(front, '/content/a/one.html')).by, 'c');
    await flush(front, '/content/a/one');
    const after = await via(front, '/content/a/one.html');
    assert.equal(after.by, '-');
    assert.equal(after.headers['x-cache'], 'MISS');
    // the sibling under the same touched .stat is stale too
    const sibling = await via(front, '/content/a/two.html');
    assert.equal(sibling.by, '-');
    assert.notEqual(sibling.headers['x-cache'], 'HIT');
  });

  it('a re-render with other stored headers: the Lua reads them, then the module replays them', async () => {
    version = 2;
    await flush(front, '/content/a/one');
    assert.equal((await via(front, '/content/a/one.html')).headers['x-cache'], 'MISS');
    const lua = await via(front, '/content/a/one.html');
    const c = await via(front, '/content/a/one.html');
    assert.deepEqual([lua.by, c.by], ['lua', 'c']);
    assert.equal(c.headers['etag'], '"v2"');
    assert.equal(c.headers['x-custom'], 'custom 2');
    assert.equal(c.body, '/content/a/one.html version 2');
    assert.deepEqual(c.headers, (await ask(fg.url, '/content/a/one.html')).headers);
  });

  it('a file rewritten in place (new identity, no flush) goes back to the Lua, which serves the new body', async () => {
    assert.equal((await via(front, '/content/a/one.html')).by, 'c');
    const file = path.join(fg.docroot('site'), 'content/a/one.html');
    await fs.writeFile(file, 'rewritten in place, longer than before');
    const lua = await via(front, '/content/a/one.html');
    const c = await via(front, '/content/a/one.html');
    assert.deepEqual([lua.by, c.by], ['lua', 'c']);
    assert.equal(lua.body, 'rewritten in place, longer than before');
    assert.deepEqual(c, { ...lua, by: 'c' });
  });

  it('a .ttl that passes: the module answers only before it, then farmgate re-renders', async () => {
    const p = '/content/ttl-short.html';
    assert.equal((await via(front, p)).headers['x-cache'], 'MISS');
    const ttl = path.join(fg.docroot('site'), 'content/ttl-short.html.ttl');
    const expires = Math.round((await fs.stat(ttl)).mtimeMs);
    let last = '';
    // max-age=1: poll until the page is no longer a hit; every hit the module answered on the
    // way was asked for before the .ttl time.
    await waitFor('the .ttl to pass', async () => {
      const asked = Date.now();
      const a = await via(front, p);
      if (a.by === 'c') assert.ok(asked < expires, `a hit by the module at ${asked}, .ttl ${expires}`);
      last = a.by;
      return a.headers['x-cache'] === 'MISS';
    });
    assert.equal(last, '-');
  });

  it('Authorization, an auth cookie, conditional and Range requests: decided by the Lua as without the module', async () => {
    const p = '/content/a/two.html';
    await via(front, p);
    await via(front, p);
    assert.equal((await via(front, p)).by, 'c');
    const cases: [Record<string, string>, string][] = [
      [{ authorization: 'Basic dTpw' }, '-'],
      [{ cookie: 'login-token=abc' }, '-'],
      [{ cookie: ' Authorization = x; other=1' }, '-'],
      // only the cookie's value names it: the module declines, the Lua finds no auth cookie
      [{ cookie: 'theme=login-token' }, 'lua'],
      [{ cookie: 'theme=dark' }, 'c'],
      [{ 'if-none-match': '"v1"' }, '-'],
      [{ range: 'bytes=0-4' }, 'lua'],
    ];
    for (const [headers, by] of cases) {
      const a = await via(front, p, headers);
      const direct = await ask(fg.url, p, headers);
      const what = JSON.stringify(headers);
      assert.equal(a.by, by, what);
      assert.equal(a.status, direct.status, what);
      assert.equal(a.headers['x-cache'], direct.headers['x-cache'], what);
      assert.equal(a.body, direct.body, what);
    }
  });
});

describe(`the C fast path (${kind}): bounded plans, and --lua-only`, () => {
  let render: TestRender;
  const setups: { fg: TestFarmgate; front: FrontServer }[] = [];
  before(async () => {
    requireTools(kind);
    render = await startRender((req) => ({ headers: { 'content-type': 'text/html' }, body: `${req.url} body` }));
  });
  after(async () => {
    for (const s of setups) {
      await s.front.stop();
      await s.fg.close();
    }
    await render?.close();
  });

  it('at most 2 plans: five pages in turn, every answer right while the table empties and refills', async () => {
    const s = await startSetup(kind, render, { edit: (dir) => maxPlans(kind, dir, 2) });
    setups.push(s);
    const pages = [1, 2, 3, 4, 5].map((i) => `/content/bounded/p${i}.html`);
    for (const p of pages) assert.equal((await via(s.front, p)).headers['x-cache'], 'MISS');
    const seen = new Set<string>();
    for (let round = 0; round < 4; round++) {
      for (const p of pages) {
        for (let k = 0; k < 2; k++) {
          const a = await via(s.front, p);
          assert.equal(a.status, 200, p);
          assert.equal(a.headers['x-cache'], 'HIT', p);
          assert.equal(a.body, `${p} body`, p);
          seen.add(a.by);
        }
      }
    }
    assert.deepEqual([...seen].sort(), ['c', 'lua']);
    assert.doesNotMatch(await fs.readFile(s.front.errorLog, 'utf8'), /farmgate: |exit signal|signal \d+/);
  });

  it('the folders\' symlink check: the module repeats it every statCheckIntervalMs itself, and declines a folder that became a symlink', async () => {
    const interval = 300;
    const s = await startSetup(kind, render, {}, { statCheckIntervalMs: interval });
    setups.push(s);
    const p = '/content/sub/page.html';
    await via(s.front, p);
    assert.equal((await via(s.front, p)).by, 'lua');
    // Two intervals of requests: every folder check falls due on the way, and the module makes
    // it itself (the Lua would answer otherwise).
    const from = Date.now();
    let n = 0;
    await waitFor('two folder-check intervals of hits', async () => {
      const a = await via(s.front, p);
      assert.equal(a.by, 'c', `request ${++n}`);
      return Date.now() - from > 2 * interval;
    });
    // The folder replaced by a symlink (to the same files, inside the docroot): farmgate's to
    // judge. The module may answer until its check falls due, never after.
    const doc = s.fg.docroot('site');
    await fs.rename(path.join(doc, 'content/sub'), path.join(doc, 'content/sub-real'));
    await fs.symlink(path.join(doc, 'content/sub-real'), path.join(doc, 'content/sub'));
    const swapped = Date.now();
    await waitFor('the module to decline the symlinked folder', async () => {
      const asked = Date.now();
      const a = await via(s.front, p);
      if (a.by === 'c') assert.ok(asked < swapped + interval + 100, `answered by the module ${asked - swapped} ms after the swap`);
      return a.by !== 'c';
    });
    for (let i = 0; i < 3; i++) assert.equal((await via(s.front, p)).by, '-', 'the symlink is farmgate\'s to judge');
  });

  it('--lua-only: no module is built or loaded, every hit is the Lua\'s', async () => {
    const s = await startSetup(kind, render, { luaOnly: true });
    setups.push(s);
    assert.doesNotMatch(await fs.readFile(path.join(s.front.dir, MAIN[kind]), 'utf8'), LOADS[kind]);
    await via(s.front, '/content/lua.html');
    for (let i = 0; i < 3; i++) {
      const a = await via(s.front, '/content/lua.html');
      assert.equal(a.by, 'lua');
      assert.equal(a.headers['x-cache'], 'HIT');
    }
  });
});
}
