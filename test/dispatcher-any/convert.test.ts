/**
 * dispatcher.any → farmgate config: every mapped directive, farm order, variables, flush farms,
 * derived flushRoutes, and a warning with FILE:LINE for everything not carried over. Converted
 * filters and cache rules are also run through farmgate's own matchers against requests whose
 * Dispatcher outcome is known.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FilterMatch, RuleItem } from '../../src/config/index.js';
import type { RuleValue } from '../../src/farms/match.js';
import { convertDispatcher, type FarmOut } from '../../src/dispatcher-any/convert.js';
import { formatWarning } from '../../src/dispatcher-any/notes.js';
import { parseDispatcherAny } from '../../src/dispatcher-any/parser.js';
import { compileFilter, filterInput } from '../../src/farms/filter.js';
import { compilePathRules, decide } from '../../src/farms/match.js';

function convert(text: string, env: Record<string, string> = {}) {
  const parsed = parseDispatcherAny('d.any', { read: () => text });
  const r = convertDispatcher(parsed.root, env);
  return { ...r, lines: r.warnings.map(formatWarning) };
}

const farm = (r: ReturnType<typeof convert>, name: string): FarmOut => {
  const f = r.config.farms.find((x) => x.name === name);
  assert.ok(f, `farm ${name} in ${r.config.farms.map((x) => x.name).join(', ')}`);
  return f;
};

const FULL = `/farms {
  /site {
    /virtualhosts { "www.site.com" "site.com:8080" "*.site.com" }
    /renders {
      /r1 { /hostname "10.0.0.5" /port "4503" /timeout "1000" /receiveTimeout "20000" }
      /r2 { /hostname "publish2" /port "4443" /secure "1" /timeout "3000" }
    }
    /retryDelay "3"
    /filter {
      /0001 { /type "deny" /url "*" }
      /0002 { /type "allow" /method '(GET|HEAD)' /extension '(html|json)' /path "/content/site/*" }
      /0003 { /type "allow" /url "/content/dam/site/*" }
      /0004 { /type "deny" /selectors '(feed|rss)' /extension "json" }
      /0005 { /type "deny" /query "debug=*" }
      /0006 { /type "allow" /method "GET" /url "/etc.clientlibs/*" /suffix "*" }
    }
    /cache {
      /docroot "/var/www/site"
      /statfileslevel "2"
      /rules {
        /0000 { /glob "*" /type "deny" }
        /0001 { /glob "/content/*" /type "allow" }
        /0002 { /glob "*/private/*" /type "deny" }
      }
      /invalidate { /0000 { /glob "*" /type "deny" } /0001 { /glob "*.html" /type "allow" } }
      /ignoreUrlParams { /0001 { /glob "utm_*" /type "allow" } /0002 { /glob "q" /type "deny" } }
      /headers { "Cache-Control" "Content-Type" "ETag" }
      /gracePeriod "5"
      /enableTTL "1"
      /serveStaleOnError "1"
      /allowAuthorized "0"
      /allowedClients { /0 { /glob "*.*.*.*" /type "deny" } /1 { /glob "10.0.0.*" /type "allow" } /2 { /glob "127.0.0.1" /type "allow" } }
    }
  }
}
`;

describe('convertDispatcher: every mapped directive', () => {
  const r = convert(FULL);
  const f = farm(r, 'site');

  it('virtualhosts, renders (url, connectTimeoutMs from /timeout, timeoutMs from /receiveTimeout, https for /secure), retryDelay', () => {
    assert.deepEqual(f.virtualhosts, ['www.site.com', 'site.com:8080', '*.site.com']);
    assert.deepEqual(f.renders, [
      { url: 'http://10.0.0.5:4503', connectTimeoutMs: 1000, timeoutMs: 20000 },
      { url: 'https://publish2:4443', connectTimeoutMs: 3000 },
    ]);
    assert.equal(f.retryDelayMs, 3000);
  });

  it('filter: each value exact (url as url, literal lists as lists, the rest as regexes), query', () => {
    assert.deepEqual(f.filter, [
      { deny: { url: { regex: '.*' } } },
      { allow: { method: ['GET', 'HEAD'], path: { regex: '/content/site/.*' }, extension: ['html', 'json'] } },
      { allow: { url: { regex: '/content/dam/site/.*' } } },
      { deny: { extension: 'json', selectors: ['feed', 'rss'] } },
      { deny: { query: { regex: 'debug=.*' } } },
      { allow: { method: 'GET', url: { regex: '/etc\\.clientlibs/.*' } } },
    ]);
  });

  it('cache: docroot, statfileslevel, rules, invalidate, ignoreUrlParams, headers, gracePeriod s → ms, flags', () => {
    assert.equal(f.docroot, '/var/www/site');
    assert.deepEqual(f.cache, {
      statfileslevel: 2,
      rules: [{ deny: { regex: '.*' } }, { allow: { regex: '/content/.*' } }, { deny: { regex: '.*/private/.*' } }],
      invalidate: [{ deny: { regex: '.*' } }, { allow: { regex: '.*\\.html' } }],
      ignoreUrlParams: [{ allow: { regex: 'utm_.*' } }, { deny: 'q' }],
      headers: ['Cache-Control', 'Content-Type', 'ETag'],
      gracePeriodMs: 5000,
      enableTTL: true,
      serveStaleOnError: true,
      allowAuthorized: false,
    });
  });

  it('allowedClients: deny all then allow → flush.allowedClients as IPs and CIDRs', () => {
    assert.deepEqual(r.config.flush, { allowedClients: ['10.0.0.0/24', '127.0.0.1'] });
  });

  it('flushRoutes derived from the filter allow paths, with a note naming their lines', () => {
    assert.deepEqual(f.flushRoutes, ['/content/dam/site/**', '/content/site/**']);
    assert.ok(r.lines.includes('d.any:2: note: farm "site": flushRoutes ["/content/dam/site/**","/content/site/**"] derived from its /filter allow paths (d.any:11, d.any:12); Dispatcher routes a flush by Host, farmgate by CQ-Path: review them'), r.lines.join('\n'));
  });

  it('warns, with file and line, about what changed meaning, and about nothing that did not', () => {
    assert.deepEqual(
      r.lines.filter((l) => /timeout/i.test(l)),
      ["d.any:6: note: render /r2 has no /receiveTimeout, so Dispatcher waits up to 600000 ms (its default) for a response; farmgate's timeoutMs defaults to 10000 ms: set timeoutMs if your pages can take longer"],
      'both render timeouts are carried as they are; only the missing one gets a note',
    );
    assert.ok(r.lines.includes('d.any:1: note: Dispatcher sends a request no farm matches to a fallback farm; farmgate answers it 404. Add "*" to the virtualhosts of the last farm if you relied on that'));
  });

  it('the converted filter decides requests as Dispatcher does', () => {
    const filter = compileFilter(f.filter as RuleItem<FilterMatch>[]);
    assert.equal(r.lines.filter((l) => !l.includes('note:')).length, 0, 'every rule carried exactly');
    const req = (method: string, url: string) => {
      const [p, q] = url.split('?');
      return filter.allows(filterInput(p!, method, q));
    };
    const cases: [string, string, boolean][] = [
      ['GET', '/content/site/en.html', true],
      ['HEAD', '/content/site/en/products.json', true],
      ['POST', '/content/site/en.html', false],
      ['GET', '/content/site/en.pdf', false],
      ['GET', '/content/site/en.feed.json', false],
      ['GET', '/content/site/en.model.json', true],
      ['GET', '/content/site/en.html?debug=layout', false],
      ['GET', '/content/dam/site/logo.png', true],
      ['GET', '/content/other/en.html', false],
      ['GET', '/etc.clientlibs/site/base.css', true],
      ['GET', '/etc.clientlibs', false],
      ['GET', '/etc.clientlibs/', true],
      ['GET', '/crx/de/index.jsp', false],
      ['GET', '/content/site', false],
      ['GET', '/content/site/', false],
      ['GET', '/content/site/a/b.html', true],
      ['GET', '/content/site/en.html?x=1&debug', true],
    ];
    for (const [method, url, allowed] of cases) assert.equal(req(method, url), allowed, `${method} ${url}`);
  });

  it('the converted cache rules decide paths as Dispatcher does', () => {
    const rules = compilePathRules(f.cache!.rules as RuleItem<RuleValue>[]);
    const cases: [string, boolean][] = [
      ['/content/site/en.html', true],
      ['/content/site/private/a.html', false],
      ['/content/private/a.html', false],
      ['/content', false],
      ['/libs/x.js', false],
    ];
    for (const [p, cached] of cases) assert.equal(decide(rules, p), cached, p);
  });
});

describe('convertDispatcher: farms', () => {
  it('reverses the farm order (Dispatcher reads /farms bottom-up) and sanitizes names', () => {
    const r = convert(`/farms {
  /000_Catch_All { /virtualhosts { "*" } /renders { /r { /hostname "h" /port "80" } } }
  /site_A { /virtualhosts { "a.com" } /renders { /r { /hostname "h" } } }
  /site-a { /virtualhosts { "a2.com" } /renders { /r { /hostname "h" } } }
}`);
    assert.deepEqual(r.config.farms.map((f) => f.name), ['site-a-2', 'site-a', '000-catch-all']);
    assert.ok(r.lines.includes('d.any:3: note: farm /site_A is named "site-a" (farmgate names are [a-z0-9-]+ and unique)'));
    assert.ok(r.lines.includes('d.any:4: note: farm /site-a is named "site-a-2" (farmgate names are [a-z0-9-]+ and unique)'));
    assert.ok(!r.lines.some((l) => l.includes('fallback farm')), 'a "*" farm exists');
  });

  it('a flush-only farm becomes no farm, but its /allowedClients reach flush.allowedClients (a shared docroot: either farm\'s clients reach its files)', () => {
    const r = convert(`/farms {
  /flushfarm {
    /virtualhosts { "flush" "invalidation_only" }
    /renders { /r { /hostname "h" } }
    /cache { /docroot "/var/www" /allowedClients { /0 { /glob "*" /type "deny" } /1 { /glob "10.1.*.*" /type "allow" } } }
  }
  /site { /virtualhosts { "*" } /renders { /r { /hostname "h" } } /cache { /docroot "/var/www" /allowedClients { /0 { /glob "192.168.0.9" /type "allow" } } } }
}`);
    assert.deepEqual(r.config.farms.map((f) => f.name), ['site']);
    assert.deepEqual(r.config.flush, { allowedClients: ['10.1.0.0/16', '192.168.0.9'] });
    assert.ok(r.lines.some((l) => l.startsWith('d.any:2: /flushfarm not carried over as a farm: it only receives flushes (virtualhosts flush, invalidation_only)')));
    assert.ok(!r.lines.some((l) => /Not carried over/.test(l)), r.lines.join('\n'));
  });

  it('flush.allowedClients holds only the clients that reach every farm\'s files, and says which it left out', () => {
    const r = convert(`/farms {
  /flushfarm { /virtualhosts { "flush" } /renders { /r { /hostname "h" } } /cache { /docroot "/var/www" /allowedClients { /0 { /glob "*" /type "deny" } /1 { /glob "10.1.*.*" /type "allow" } } } }
  /a { /virtualhosts { "a" } /renders { /r { /hostname "h" } } /cache { /docroot "/var/www/a" /allowedClients { /0 { /glob "*" /type "deny" } /1 { /glob "192.168.0.9" /type "allow" } } } }
  /b { /virtualhosts { "b" } /renders { /r { /hostname "h" } } /cache { /docroot "/srv/b" /allowedClients { /0 { /glob "*" /type "deny" } /1 { /glob "192.168.0.*" /type "allow" } } } }
}`);
    // /a's files: 10.1.* through /flushfarm, 192.168.0.9 through /a; /b's files: 192.168.0.* only.
    assert.deepEqual(r.config.flush, { allowedClients: ['192.168.0.9'] });
    assert.ok(r.lines.some((l) => /^d\.any:2: flush\.allowedClients is one list in farmgate, checked before a flush is routed to any farm, so it holds only the clients that can flush every farm's files in Dispatcher \(through a farm whose docroot holds them\): \/flushfarm at d\.any:2, \/a at d\.any:3, \/b at d\.any:4\. Not carried over: 10\.1\.0\.0\/16, 192\.168\.0\.0\/29, 192\.168\.0\.8, 192\.168\.0\.10\/31/.test(l)), r.lines.join('\n'));
    const none = convert(`/farms {
  /a { /virtualhosts { "a" } /renders { /r { /hostname "h" } } /cache { /docroot "/a" /allowedClients { /1 { /glob "10.0.0.1" /type "allow" } } } }
  /b { /virtualhosts { "b" } /renders { /r { /hostname "h" } } /cache { /docroot "/b" /allowedClients { /1 { /glob "10.0.0.2" /type "allow" } } } }
}`);
    assert.deepEqual(none.config.flush, { allowedClients: [] });
    assert.ok(none.lines.includes('d.any:2: note: no client can flush every farm: flush.allowedClients is empty, so every flush gets 403'), none.lines.join('\n'));
  });

  it('keeps ${VAR}s verbatim in strings; numbers and flags come from the environment', () => {
    const text = `/farms { /site {
  /virtualhosts { "\${SITE_HOST}" }
  /renders { /r { /hostname "\${PUBLISH_IP}" /port "\${PUBLISH_PORT}" } }
  /cache {
    /docroot "\${PUBLISH_DOCROOT}/site"
    /statfileslevel "\${DEFAULT_STAT_LEVEL}"
    /serveStaleOnError "\${STALE}"
    /allowedClients { /0 { /glob "*.*.*.*" /type "deny" } /1 { /glob "\${AUTHOR_IP}" /type "allow" } }
  }
} }`;
    const withEnv = convert(text, { DEFAULT_STAT_LEVEL: '3', STALE: '1' });
    const f = farm(withEnv, 'site');
    assert.deepEqual(f.virtualhosts, ['${SITE_HOST}']);
    assert.deepEqual(f.renders, [{ url: 'http://${PUBLISH_IP}:${PUBLISH_PORT}' }]);
    assert.equal(f.docroot, '${PUBLISH_DOCROOT}/site');
    assert.deepEqual(f.cache, { statfileslevel: 3, serveStaleOnError: true });
    assert.deepEqual(withEnv.config.flush, { allowedClients: ['${AUTHOR_IP}'] });
    assert.ok(withEnv.lines.includes('d.any:6: note: /statfileslevel "${DEFAULT_STAT_LEVEL}" resolved to 3 from the environment (farmgate needs a number here)'));

    const without = convert(text);
    assert.deepEqual(farm(without, 'site').cache, undefined);
    assert.ok(without.lines.includes('d.any:6: /statfileslevel not carried over: "${DEFAULT_STAT_LEVEL}" is not set in the environment and farmgate needs a number; set it and import again, or edit statfileslevel'));
    assert.ok(without.lines.some((l) => l.startsWith('d.any:7: /serveStaleOnError not carried over: "${STALE}" is not "0" or "1"')));
  });

  it('flushRoutes: from cache rules without /content filter paths; /** without a filter; none with a note', () => {
    const r = convert(`/farms {
  /rules-only { /virtualhosts { "a" } /renders { /r { /hostname "h" } }
    /filter { /1 { /type "allow" /extension "html" } }
    /cache { /docroot "/d" /rules { /0 { /glob "*" /type "deny" } /1 { /glob "/content/a/*.html" /type "allow" } } } }
  /open { /virtualhosts { "b" } /renders { /r { /hostname "h" } } /cache { /docroot "/d" } }
  /closed { /virtualhosts { "c" } /renders { /r { /hostname "h" } } /filter { /1 { /type "allow" /url "/libs/*" } } /cache { /docroot "/d" } }
}`);
    assert.deepEqual(farm(r, 'rules-only').flushRoutes, ['/content/a/**']);
    assert.deepEqual(farm(r, 'open').flushRoutes, ['/**']);
    assert.deepEqual(farm(r, 'closed').flushRoutes, []);
    assert.ok(r.lines.some((l) => l.startsWith('d.any:2: note: farm "rules-only": flushRoutes ["/content/a/**"] derived from its /cache /rules allows')));
    assert.ok(r.lines.includes('d.any:6: note: farm "closed": no flushRoutes could be derived (no /content path in its filter or cache rules); it receives no flush until you add some'));
  });

  it('a farm file without /farms (an archetype default.farm) is taken as the farms', () => {
    const r = convert('/publishfarm { /virtualhosts { "*" } /renders { /0 { /hostname "h" /port "4503" } } /cache { /docroot "/d" } }');
    assert.deepEqual(r.config.farms.map((f) => f.name), ['publishfarm']);
  });

  it('placeholders, with warnings, where farmgate needs a value Dispatcher did not give', () => {
    const r = convert('/farms { /bare { /virtualhosts { "https://x.com/shop/*" } } }');
    const f = farm(r, 'bare');
    assert.deepEqual(f.virtualhosts, ['x.com']);
    assert.deepEqual(f.renders, [{ url: 'http://127.0.0.1:4503' }]);
    assert.equal(f.docroot, './cache/bare');
    assert.deepEqual(f.flushRoutes, ['/**']);
    assert.ok(r.lines.includes('d.any:1: /virtualhosts "https://x.com/shop/*": the scheme https:// is not carried over (farmgate matches the Host header only)'));
    assert.ok(r.lines.some((l) => l.startsWith('d.any:1: /virtualhosts "https://x.com/shop/*": the URI part "/shop/*" is not carried over')));
    assert.ok(r.lines.includes('d.any:1: farm "bare" has no usable /renders: a placeholder render http://127.0.0.1:4503 was written; edit it'));
    assert.ok(r.lines.some((l) => l.startsWith('d.any:1: note: no farm has /allowedClients')));
  });
});

describe('convertDispatcher: warnings for what is not carried over', () => {
  const r = convert(`/name "edge"
/farms {
  /site {
    /clientheaders { "*" }
    /virtualhosts { "*" }
    /sessionmanagement { /directory "/tmp/s" }
    /renders { /r { /hostname "h" /ipv4 "1" } }
    /statistics { /categories { /html { /glob "*.html" } } }
    /vanity_urls { /url "/libs/granite/dispatcher/content/vanityUrls.html" }
    /filter {
      /0001 { /type "deny" /url "*" }
      /0002 { /type "allow" /protocol "HTTP/1.1" /path "/content/*" }
      /0003 { /type "deny" /extension '()' }
      /0004 { /type "deny" /selectors '(rss|[0-9-]+)' }
      /0005 { /glob "GET /content/old/*" /type "deny" }
      /0006 { /url "/x" }
    }
    /cache {
      /docroot "/d"
      /statfile "/tmp/stat"
      /invalidateHandler "/bin/true"
      /mode "0755"
      /headers { "X-*" "Content-Type" }
      /allowedClients { /0 { /glob "*" /type "deny" } /1 { /glob "author.local" /type "allow" } }
    }
  }
}`);
  const expected = [
    'd.any:1: /name not carried over: farmgate has no instance name (server.name names a server of the web farm)',

    'd.any:6: /sessionmanagement not carried over: farmgate has no session management; requests with credentials are not cached unless allowAuthorized',
    'd.any:7: /ipv4 not carried over: farmgate resolves host names as Node does',
    'd.any:8: /statistics not carried over: farmgate takes renders in turn; there are no response-time categories',
    'd.any:9: /vanity_urls not carried over: farmgate has no vanity URL list; allow those URLs in the filter',
    'd.any:12: /filter /0002 (allow) not carried over: /protocol "HTTP/1.1" holds only for HTTP/1.1, and farmgate does not filter on the protocol. The import is narrower than Dispatcher here: the requests this rule allowed are decided by the rules before it; write a farmgate rule for them by hand if you need them',
    'd.any:15: note: /filter /0005 /glob "GET /content/old/*" (the deprecated request-line glob) became a farmgate rule on method, url and query',
    'd.any:16: /filter /0006 has no /type: imported as a deny, the stricter reading; give it /type "allow" and import again if it should let requests through',
    'd.any:20: /statfile not carried over: farmgate always uses .stat files placed by statfileslevel',
    'd.any:21: /invalidateHandler not carried over: farmgate runs no script on flush; use flushRoutes (one handle can reach several farms) or the admin API',
    'd.any:22: /mode not carried over: cached files get the farmgate process umask; set it where farmgate is started',
    'd.any:23: /headers "X-*" not carried over: expected a literal header name',
    "d.any:24: /allowedClients allow \"author.local\" not carried over: Dispatcher compares it with the client's IP address as text, and it is not an IP glob (e.g. 10.0.0.* or 10.0.0.5); write the addresses or CIDRs",
  ];
  for (const line of expected) it(line, () => assert.ok(r.lines.includes(line), `missing; got:\n${r.lines.join('\n')}`));

  it('what could be kept is kept, exactly: /clientheaders, no extension, [0-9-]+, the request-line glob, a rule without /type', () => {
    const f = farm(r, 'site');
    assert.deepEqual(f.clientHeaders, ['*']);
    assert.deepEqual(f.filter, [
      { deny: { url: { regex: '.*' } } },
      { deny: { extension: '' } },
      { deny: { selectors: { regex: '(rss|[0-9-]+)' } } },
      { deny: { method: 'GET', url: { regex: '/content/old/.*' } } },
      { deny: { url: '/x' } },
    ]);
    assert.deepEqual(f.cache, { headers: ['Content-Type'] });
    assert.deepEqual(r.config.flush, { allowedClients: [] });
  });
});
