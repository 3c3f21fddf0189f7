/**
 * Drift guard between the two images of the route decision: serve/route.ts (farmgate) and the
 * Lua the front servers run (src/front/lua/farmgate_route.lua with the generated rules). The same
 * requests, generated with fast-check plus a list of tricky ones (encoded slashes, `..`, `//`,
 * internal names, auth cookies, ignored query parameters, odd hosts and ports), are decided by
 * route.ts in this process and by real nginx and Apache through the test-only decision endpoint
 * of the configuration `farmgate front --decide-endpoint` writes; the answers must be identical.
 *
 * The front may answer "undecided" (it hands the request to farmgate) but only for a request it
 * cannot judge exactly (a byte outside printable ASCII in a decoded value); it may not answer
 * anything else differently. A request the server itself refuses before any hook runs (nginx and
 * Apache answer 400 for a path above the root) must be one route.ts calls a bad path.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfig, type Config } from '../../src/config/index.js';
import { compileFarm, type Farm } from '../../src/farms/farm.js';
import { routeRequest } from '../../src/serve/route.js';
import { hasBinary, startFront, type FrontServer } from '../../support/front-servers.js';
import { tempDir } from '../helpers/farmgate.js';

const CONFIG = `farms:
  - name: site-a
    virtualhosts: ["site-a.local", "*.site-a.com", "site-a.local:8443", "[::1]:8080"]
    docroot: ./a
    renders: [{ url: "http://127.0.0.1:1" }]
    filter:
      - deny: { path: "/**" }
      - allow: { method: [GET, HEAD], path: "/content/**" }
      - allow: { path: "/etc.clientlibs/**", extension: [css, js] }
      - deny: { selectors: "*.private" }
      - allow: { url: { regex: "/api/v[0-9]+/[a-z]+\\\\.json" }, method: GET }
      - deny: { query: "debug=*" }
      - allow: { path: "/content/dam/**", selectors: "" }
    cache:
      statfileslevel: 2
      rules:
        - allow: "/**"
        - deny: "/content/private/**"
        - deny: { regex: "/content/.*/nocache/.*" }
      invalidate:
        - deny: "/**"
        - allow: ["/**/*.html", "/**/*.json"]
      ignoreUrlParams:
        - allow: "utm_*"
        - allow: ["fbclid", "gclid"]
      allowAuthorized: false
      gracePeriodMs: 100
    flushRoutes: ["/content/**"]
  - name: site-b
    virtualhosts: ["site-b.local", "*.b.test:8080"]
    docroot: ./b
    renders: [{ url: "http://127.0.0.1:1" }]
    cache:
      statfileslevel: 0
      rules: [{ allow: "/**" }]
      enableTTL: true
      allowAuthorized: true
  - name: fallback
    virtualhosts: ["*.fallback", "other.*", "127.0.0.1"]
    docroot: ./c
    renders: [{ url: "http://127.0.0.1:1" }]
    filter:
      - allow: { method: "*" }
      - deny: { extension: [exe, sh] }
    cache:
      statfileslevel: 5
`;

interface Decision {
  verdict: string;
  farm?: string;
  docPath?: string;
  reason?: string;
  statDirs?: string[];
  invalidates?: boolean;
}

interface Req {
  method: string;
  host: string | undefined;
  path: string;
  headers: Record<string, string>;
}

function decideHere(farms: readonly Farm[], r: Req): Decision {
  const authorized = r.headers.authorization !== undefined || /(?:^|;)\s*(?:login-token|authorization)\s*(?:=|;|$)/i.test(r.headers.cookie ?? '');
  const route = routeRequest(farms, { method: r.method, host: r.host, url: r.path, authorized });
  const d: Decision = { verdict: route.verdict };
  if (route.verdict !== 'no-farm') d.farm = route.farm.name;
  if (route.verdict === 'bad-path' || route.verdict === 'pass') d.reason = route.reason;
  if ('docPath' in route) d.docPath = route.docPath;
  if (route.verdict === 'cache') {
    d.statDirs = [...route.freshness.statDirs];
    d.invalidates = route.freshness.invalidates;
  }
  return d;
}

function decideThere(front: FrontServer, r: Req): Promise<{ status: number; decision: Decision | undefined }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...r.headers, 'x-farmgate-decide': '1' };
    if (r.host !== undefined) headers.host = r.host;
    const req = http.request({ host: '127.0.0.1', port: front.port, path: r.path, method: r.method, headers, agent: false, setHost: r.host === undefined ? false : undefined }, (res) => {
      res.resume();
      res.on('end', () => {
        const h = res.headers['x-farmgate-route'];
        resolve({ status: res.statusCode ?? 0, decision: typeof h === 'string' ? (JSON.parse(h) as Decision) : undefined });
      });
    });
    req.on('error', reject);
    req.end(r.method === 'POST' ? 'a=1' : undefined);
  });
}

/** An authorization cookie as hasAuthCookie sees it (the test's own regex is only a shortcut). */
const TRICKY: Req[] = [
  '/content/site/en/page.html',
  '/content/site/en/page.html?utm_source=x&fbclid=1',
  '/content/site/en/page.html?utm_source=x&q=1',
  '/content/site/en/page.html?',
  '/content/site/en/page.html?&&',
  '/content/site/en/page.html?%75tm_x=1',
  '/content/site/en/page.html?utm%5fx=1',
  '/content/site/en/page.html?utm_x%zz=1',
  '/content/site/en/page.html?+utm=1',
  '/content/site/en/page.html?debug=1',
  '/content/a%2Fb.html',
  '/content/a%2fb.html',
  '/content/a%5cb.html',
  '/content/a%5Cb.html',
  '/content//x.html',
  '/content/./x.html',
  '/content/%2e/x.html',
  '/content/%2e%2e/x.html',
  '/content/x/../y.html',
  '/content/%00.html',
  '/content/%0a.html',
  '/content/%zz.html',
  '/content/%.html',
  '/content/%C3%BCber.html',
  '/content/%E2%82%AC.html',
  '/content/%FF.html',
  '/content/.stat',
  '/content/%2Estat',
  '/content/page.html.h',
  '/content/page.html.ttl',
  '/content/page.html%2Eh',
  '/content/.fgtmp-page.html.1.1',
  '/content/x/.fgtmp',
  '/content/page.private.html',
  '/content/page.a.private.html',
  '/content/dam/a.png',
  '/content/dam/a.x.png',
  '/content/dam/a.png/_jcr_content/renditions/web.1280.png',
  '/etc.clientlibs/site/base.min.css',
  '/etc.clientlibs/site/base.min.svg',
  '/content/p/_jcr_content/image.coreimg.jpeg/1700000000/photo.jpeg',
  '/api/v1/items.json',
  '/api/v1/items.json/x',
  '/api/vx/items.json',
  '/content/private/a.html',
  '/content/site/nocache/a.html',
  '/content/noext',
  '/content/dir/',
  '/content/.hidden',
  '/content/a.',
  '/',
  '/index.html',
  '/content/site/en/de/fr/deep/page.html',
  '/x.exe',
].flatMap((p): Req[] => [
  { method: 'GET', host: 'site-a.local', path: p, headers: {} },
  { method: 'HEAD', host: 'www.site-a.com:80', path: p, headers: {} },
  { method: 'GET', host: 'b.b.test:8080', path: p, headers: { cookie: 'a=1; login-token=x' } },
  { method: 'POST', host: 'elsewhere.local', path: p, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
]);
TRICKY.push(
  { method: 'GET', host: 'SITE-A.LOCAL', path: '/content/a.html', headers: {} },
  { method: 'GET', host: 'site-a.local:8443', path: '/content/a.html', headers: {} },
  { method: 'GET', host: 'site-a.local:', path: '/content/a.html', headers: {} },
  { method: 'GET', host: '[::1]:8080', path: '/content/a.html', headers: {} },
  { method: 'GET', host: '[::1]', path: '/content/a.html', headers: {} },
  { method: 'GET', host: 'x.b.test:8081', path: '/content/a.html', headers: {} },
  { method: 'GET', host: 'x.b.test:8080', path: '/content/a.html', headers: { authorization: 'Basic eDp5' } },
  { method: 'GET', host: 'site-a.local', path: '/content/a.html', headers: { authorization: 'Basic eDp5' } },
  { method: 'GET', host: 'site-a.local', path: '/content/a.html', headers: { cookie: 'x=1;  Authorization=y' } },
  { method: 'GET', host: 'site-a.local', path: '/content/a.html', headers: { cookie: 'login-token' } },
  { method: 'GET', host: 'site-a.local', path: '/content/a.html', headers: { cookie: 'my-login-token=1' } },
  { method: 'GET', host: undefined, path: '/content/a.html', headers: {} },
  { method: 'OPTIONS', host: 'site-a.local', path: '/content/a.html', headers: {} },
  { method: 'DELETE', host: 'x.other', path: '/content/a.html', headers: {} },
);

const segment = fc.stringMatching(/^[a-z0-9._~!$&'()*+,;=:@-]{1,8}$/);
const encoded = fc.constantFrom('%2F', '%2f', '%5C', '%2e', '%2E', '%00', '%41', '%7E', '%C3%BC', '%zz', '%', '%20', '%2B', '%2Ehtml', 'a%2Eh');
const seg = fc.oneof(
  { weight: 6, arbitrary: segment },
  { weight: 1, arbitrary: encoded },
  { weight: 2, arbitrary: fc.constantFrom('.', '..', '', '.stat', 'a.html.h', 'b.ttl', '.fgtmp-x', 'p.a.b.html', 'x.private.html', 'content', 'etc.clientlibs', 'dam', 'api', 'v2', 'items.json', 'nocache', 'private') },
);
const prefix = fc.constantFrom('', '/content', '/content', '/content/site/en', '/content/dam', '/etc.clientlibs/site', '/api/v1', '/content/private');
const leaf = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('page.html', 'a.b.html', 'x.json', 'img.png', 'base.min.css', 'p.private.html', 'run.sh', 'items.json', 'noext') }, { weight: 1, arbitrary: seg });
const arbPath = fc
  .tuple(prefix, fc.array(seg, { minLength: 0, maxLength: 4 }), leaf, fc.option(fc.constantFrom('', 'utm_source=a', 'q=1', 'utm_a=1&gclid=2', 'debug=1', 'a', '%75tm_=1', 'fbclid', 'utm_%C3%BC=1'), { nil: undefined, freq: 3 }), fc.nat(9))
  .map(([pre, segs, file, q, t]) => `${pre}/${[...segs, file].join('/')}${t === 0 ? '/' : ''}${q === undefined ? '' : `?${q}`}`);
const arbHost = fc.constantFrom(undefined, 'site-a.local', 'site-a.local', 'site-a.local', 'Site-A.Local:8443', 'a.site-a.com', 'site-a.com', 'x.b.test:8080', 'x.b.test', 'site-b.local:1', '[::1]:8080', '127.0.0.1', 'nowhere', 'x.fallback');
const arbReq = fc.record({
  method: fc.constantFrom('GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT'),
  host: arbHost,
  path: arbPath,
  headers: fc.constantFrom<Record<string, string>>({}, {}, {}, {}, { authorization: 'x' }, { cookie: 'login-token=1' }, { cookie: 'a=b' }),
});

for (const kind of ['nginx', 'apache'] as const) {
  describe(`route.ts and the ${kind} front decide alike`, () => {
    let dir = '';
    let config: Config;
    let farms: Farm[];
    let front: FrontServer;

    before(async () => {
      if (!hasBinary(kind === 'nginx' ? 'nginx' : 'apache2')) assert.fail(`${kind} is not installed (.ci/run installs it)`);
      dir = await tempDir('farmgate-differential-');
      await fs.chmod(dir, 0o755);
      await fs.writeFile(path.join(dir, 'farmgate.yaml'), CONFIG);
      config = await loadConfig(path.join(dir, 'farmgate.yaml'));
      farms = config.farms.map(compileFarm);
      front = await startFront(kind, { config, upstream: '127.0.0.1:9', decideEndpoint: true });
    });
    after(async () => {
      await front?.stop();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    /** what was compared, per verdict (and how many the server refused or left undecided) */
    const seen = new Map<string, number>();
    const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);

    const check = async (r: Req) => {
      const here = decideHere(farms, r);
      const there = await decideThere(front, r);
      const what = `${r.method} ${r.path} Host: ${String(r.host)} ${JSON.stringify(r.headers)}`;
      if (there.decision === undefined) {
        // the server refused the request before our code ran (a malformed path, no Host): farmgate
        // refuses it too (400, or 404 for a host no farm serves), except that Apache's strict Host
        // check (HttpProtocolOptions Strict, its default) refuses a Host with an empty port,
        // which farmgate reads as no port (apache/README.md says so).
        count('refused by the server');
        if (kind === 'apache' && there.status === 400 && r.host?.endsWith(':')) return;
        assert.ok(here.verdict === 'bad-path' || here.verdict === 'no-farm', `${what}: ${kind} answered ${there.status} by itself, route.ts says ${JSON.stringify(here)}`);
        assert.equal(there.status, 400, what);
        return;
      }
      if (there.decision.verdict === 'undecided') {
        count('undecided');
        // only for what cannot be judged exactly in Lua: a non-ASCII or control byte after decoding
        assert.match(decodeURIComponentSafe(r.path) + (r.host ?? ''), /[^\x20-\x7e]/, `${what}: undecided (${String((there.decision as { why?: string }).why)}) but route.ts says ${JSON.stringify(here)}`);
        return;
      }
      delete (there.decision as { why?: string }).why;
      assert.deepEqual(there.decision, here, what);
      count(here.verdict);
    };

    it('on the tricky requests', async () => {
      for (const r of TRICKY) await check(r);
      // every verdict was compared, not only refused
      for (const v of ['no-farm', 'bad-path', 'internal', 'filtered', 'pass', 'cache']) assert.ok((seen.get(v) ?? 0) > 0, `no "${v}" compared: ${JSON.stringify([...seen])}`);
    });

    it('on generated requests (fast-check)', async () => {
      seen.clear();
      const runs = Number(process.env.FARMGATE_DIFF_RUNS ?? 300);
      await fc.assert(fc.asyncProperty(arbReq, async (r) => check(r)), { numRuns: runs });
      const compared = ['no-farm', 'bad-path', 'internal', 'filtered', 'pass', 'cache'].reduce((n, v) => n + (seen.get(v) ?? 0), 0);
      if (process.env.FARMGATE_DIFF_STATS) console.log(kind, JSON.stringify([...seen]));
      assert.ok(compared >= runs * 0.5, `only ${compared} of ${runs} compared: ${JSON.stringify([...seen])}`);
      assert.ok((seen.get('cache') ?? 0) >= runs * 0.02, `few cacheable requests generated: ${JSON.stringify([...seen])}`);
    });
  });
}

function decodeURIComponentSafe(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}
