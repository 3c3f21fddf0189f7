import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import { configProblems as problems, MINIMAL_CONFIG as minimal } from '../helpers/config-problems.js';

describe('parseConfig', () => {
  it('fills every default from the schema', () => {
    const c = parseConfig(minimal, '/etc/farmgate/farmgate.yaml', {});
    assert.equal(c.server.listen, '127.0.0.1:8080');
    assert.equal(c.server.limits.headerBytes, 16384);
    assert.equal(c.server.limits.urlBytes, 4096);
    assert.equal(c.server.limits.flushBodyBytes, 1048576);
    assert.equal(c.server.limits.refetchUris, 1000);
    assert.equal(c.server.limits.headersTimeoutMs, 30000);
    assert.equal(c.server.stateDir, '/etc/farmgate/var/state');
    assert.equal(c.flush.path, '/dispatcher/invalidate.cache');
    assert.deepEqual(c.flush.allowedClients, ['127.0.0.1', '::1']);
    assert.equal(c.flush.unrouted, 'ignore');
    const f = c.farms[0]!;
    assert.equal(f.docroot, '/etc/farmgate/cache/site-a', 'relative docroots resolve against the config folder');
    assert.equal(f.retryDelayMs, 1000);
    assert.equal(f.renders[0]!.timeoutMs, 10000);
    assert.equal(f.cache.statfileslevel, 0);
    assert.equal(f.cache.gracePeriodMs, 0);
    assert.equal(f.cache.statCheckIntervalMs, 1000);
    assert.equal(f.cache.enableTTL, false);
    assert.deepEqual(f.cache.headers, ['Content-Type', 'Cache-Control', 'Expires', 'Last-Modified', 'ETag', 'Content-Disposition']);
    assert.equal(c.propagation.mode, 'off');
  });

  it('freezes the result', () => {
    const c = parseConfig(minimal, 'f.yaml', {});
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.farms) && Object.isFrozen(c.farms[0]!.cache.rules));
    assert.throws(() => {
      (c.server as { listen: string }).listen = 'x';
    });
  });

  it('substitutes ${VAR} from the environment', () => {
    const c = parseConfig(minimal.replace('./cache/site-a', '${ROOT}/site-a'), 'f.yaml', { ROOT: '/srv/cache' });
    assert.equal(c.farms[0]!.docroot, '/srv/cache/site-a');
  });

  it('reports a missing ${VAR} at its value', () => {
    assert.deepEqual(problems(minimal.replace('./cache/site-a', '${NOPE}/x')), [
      'f.yaml:4:14 farms.0.docroot: environment variable ${NOPE} is not set',
    ]);
  });

  it('reports an unknown key at the key', () => {
    assert.deepEqual(problems(`server:\n  listen: "127.0.0.1:1"\n  lisen: x\n${minimal}`), ['f.yaml:3:3 server.lisen: unknown key "lisen"; did you mean "listen"?']);
  });

  it('reports a wrong type at the value', () => {
    assert.deepEqual(problems(minimal + '    retryDelayMs: "soon"\n'), ['f.yaml:7:19 farms.0.retryDelayMs: expected number, got string "soon"']);
  });

  it('reports a bad glob with list indices as numbers', () => {
    const text = minimal + '    cache:\n      rules:\n        - deny: "/**"\n        - allow: "/content/[x/**"\n';
    const [p] = problems(text);
    assert.match(p!, /^f\.yaml:10:18 farms\.0\.cache\.rules\.1\.allow: invalid glob "\/content\/\[x\/\*\*"/);
  });

  it('rule values: a glob, a list, { regex }, an empty string, and the url key', () => {
    const text =
      minimal +
      `    filter:
      - deny: { url: "/**" }
      - allow: { url: { regex: '/content/[a-z]+\\.html' }, method: [GET, { regex: "HEAD" }] }
      - deny: { selectors: "", extension: ["json", { regex: "xml|rss" }] }
    cache:
      rules:
        - allow: { regex: "/content/.*" }
      invalidate:
        - allow: ["/**/*.html", { regex: '.*\\.json' }]
      ignoreUrlParams:
        - allow: { regex: "utm_.*" }
`;
    const c = parseConfig(text, 'f.yaml', {});
    const f = c.farms[0]!;
    assert.deepEqual(f.filter![1], { allow: { url: { regex: '/content/[a-z]+\\.html' }, method: ['GET', { regex: 'HEAD' }] } });
    assert.deepEqual(f.filter![2], { deny: { selectors: '', extension: ['json', { regex: 'xml|rss' }] } });
    assert.deepEqual(f.cache.rules, [{ allow: { regex: '/content/.*' } }]);
    assert.deepEqual(f.cache.ignoreUrlParams, [{ allow: { regex: 'utm_.*' } }]);
  });

  it('reports a bad regex at its value, FILE:LINE:COL path: message', () => {
    const text = minimal + '    filter:\n      - deny: { url: "/**" }\n      - allow: { path: { regex: "/content/(a" } }\n    cache:\n      rules:\n        - allow: { regex: "[[:alpha:]]+" }\n';
    assert.deepEqual(problems(text), [
      'f.yaml:9:33 farms.0.filter.1.allow.path.regex: invalid regex "/content/(a": Unterminated group',
      'f.yaml:12:27 farms.0.cache.rules.0.allow.regex: regex "[[:alpha:]]+": POSIX bracket expressions like "[:…:]" are not supported: list the characters (e.g. [0-9] for [:digit:])',
    ]);
  });

  it('reports a rule value of the wrong shape, and an unknown key beside regex', () => {
    const text = minimal + '    filter:\n      - allow: { extension: 5 }\n      - allow: { extension: { regexp: "x" } }\n';
    const lines = problems(text);
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^f\.yaml:8:29 farms\.0\.filter\.0\.allow\.extension: expected a glob, a list of globs, or \{ regex: "\.\.\." \}/);
    assert.match(lines[1]!, /^f\.yaml:9:\d+ farms\.0\.filter\.1\.allow\.extension/);
  });

  it('path values start with "/" (an empty string is for selectors, extension, suffix, query)', () => {
    const [p] = problems(minimal + '    filter:\n      - allow: { path: "" }\n');
    assert.match(p!, /farms\.0\.filter\.0\.allow\.path: expected a path glob starting with "\/"/);
  });

  it('keeps where each key and value starts (for test-url and check warnings)', () => {
    const c = parseConfig(minimal + '    filter:\n      - deny: { url: "/**" }\n      - allow: { url: "/content/**" }\n', 'f.yaml', {});
    assert.deepEqual(c.positions['farms.0.name'], { line: 2, col: 11 });
    assert.deepEqual(c.positions['farms.0.filter.1'], { line: 9, col: 9 });
    assert.deepEqual(c.positions['farms.0.filter.1.allow.url'], { line: 9, col: 23 });
    assert.equal(c.positions['farms.0.cache.rules.0'], undefined, 'a default has no position');
  });

  it('reports every problem, in file order', () => {
    const text = `server:\n  bogus: 1\nflush:\n  unrouted: maybe\n${minimal}    statfileslevel: 2\n`;
    assert.deepEqual(problems(text), [
      'f.yaml:2:3 server.bogus: unknown key "bogus" (expected one of listen, admin, adminToken, trustedProxies, limits, memory, accelRedirect, name, stateDir)',
      'f.yaml:4:13 flush.unrouted: expected one of "ignore", "reject"',
      'f.yaml:11:5 farms.0.statfileslevel: unknown key "statfileslevel"; did you mean "cache.statfileslevel"?',
    ]);
  });

  it('rule items need exactly one of allow/deny', () => {
    const [p] = problems(minimal + '    flushRoutes: ["/content/**"]\n    cache:\n      invalidate:\n        - { allow: "/**", deny: "/x" }\n');
    assert.match(p!, /farms\.0\.cache\.invalidate\.0: expected exactly one of "allow" or "deny"/);
  });

  it('rejects duplicate farm names and bad CIDRs', () => {
    const two = minimal + minimal.replace('farms:\n', '');
    assert.match(problems(two)[0]!, /farms\.1\.name: duplicate farm name "site-a"/);
    assert.match(problems(`flush:\n  allowedClients: ["10.0.0.0/33"]\n${minimal}`)[0]!, /flush\.allowedClients\.0: invalid prefix length/);
  });

  it('propagation redis needs a secret', () => {
    assert.match(problems(minimal + 'propagation:\n  mode: redis\n')[0]!, /propagation\.secret: propagation\.mode redis needs a secret/);
  });

  it('reports YAML syntax errors with their position', () => {
    assert.match(problems('farms:\n  - name: [unclosed\n')[0]!, /^f\.yaml:\d+:\d+ /);
  });

  it('an indentation error points at the misplaced key, not at column 1', () => {
    const text = 'farms:\n  - name: a\n    virtualhosts: ["*"]\n     docroot: ./c\n    renders: [{ url: "http://x:1" }]\n';
    const found = problems(text);
    assert.equal(found.length, 1, 'one error per line: the first says what is wrong');
    assert.match(found[0]!, /^f\.yaml:4:6 All mapping items must start at the same column \(this line starts at column 6; line 3 starts at column 5\)$/);
  });

  it('a sequence item without "-" points at the item', () => {
    const text = 'farms:\n  - name: a\n    renders:\n    - url: "http://x:1"\n      timeoutMs: 10\n   retryDelayMs: 5\n';
    assert.match(problems(text)[0]!, /^f\.yaml:6:4 /);
  });

  it('an unknown key gets the closest known key as a suggestion, or the list of known keys', () => {
    const text = minimal + '    cache:\n      statfilelevel: 2\n      Headers: []\n      zzzzzz: 1\n    renderz: []\nserver:\n  lisen: "127.0.0.1:1"\n';
    const found = problems(text);
    assert.ok(found.includes('f.yaml:8:7 farms.0.cache.statfilelevel: unknown key "statfilelevel"; did you mean "statfileslevel"?'), found.join('\n'));
    assert.ok(found.includes('f.yaml:9:7 farms.0.cache.Headers: unknown key "Headers"; did you mean "headers"?'), found.join('\n'));
    assert.ok(found.includes('f.yaml:11:5 farms.0.renderz: unknown key "renderz"; did you mean "renders"?'), found.join('\n'));
    assert.ok(found.includes('f.yaml:13:3 server.lisen: unknown key "lisen"; did you mean "listen"?'), found.join('\n'));
    const far = found.find((p) => p.includes('zzzzzz'))!;
    assert.match(far, /unknown key "zzzzzz" \(expected one of rules, statfileslevel, invalidate, .*statCheckIntervalMs/);
  });

  it('suggests keys inside list items and renders', () => {
    const found = problems(minimal.replace('- url: http://127.0.0.1:4503', '- url: http://127.0.0.1:4503\n        timeotMs: 5'));
    assert.deepEqual(found, ['f.yaml:7:9 farms.0.renders.0.timeotMs: unknown key "timeotMs"; did you mean "timeoutMs"?']);
  });

  it('a malformed Redis URL is a config error at its value', () => {
    const found = problems(minimal + 'propagation:\n  mode: redis\n  secret: "0123456789abcdef"\n  redis:\n    url: "redis://:pw@[bad"\n');
    assert.deepEqual(found, ['f.yaml:11:10 propagation.redis.url: expected a redis:// URL like "redis://127.0.0.1:6379", got "redis://:pw@[bad"']);
    assert.match(problems(minimal + 'propagation:\n  redis:\n    url: "http://127.0.0.1:6379"\n')[0]!, /expected a redis:\/\/ or rediss:\/\/ URL/);
    assert.match(problems(minimal + 'propagation:\n  redis:\n    url: "redis://127.0.0.1:6379/cache"\n')[0]!, /path must be a database number/);
  });

  it('needs at least one farm', () => {
    assert.match(problems('server: {}\n')[0]!, /farms: required/);
  });
});

describe('the shipped configs', () => {
  for (const file of ['config/farmgate.yaml']) {
    it(`${file} is valid`, async () => {
      const c = await loadConfig(path.resolve(file), {});
      assert.deepEqual(c.farms.map((f) => f.name), ['site-a', 'site-b']);
    });
  }
});
