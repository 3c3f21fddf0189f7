/** The invalidation block and the tag keys: defaults, and every mistake reported at its line. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { configProblems as problems, MINIMAL_CONFIG as farms } from '../helpers/config-problems.js';

describe('invalidation config', () => {
  it('defaults: tag headers Surrogate-Key, xkey, Cache-Tag; not exposed; API and webhooks off', () => {
    const c = parseConfig(farms, 'f.yaml', {});
    assert.deepEqual(c.farms[0]!.cache.tagHeaders, ['Surrogate-Key', 'xkey', 'Cache-Tag']);
    assert.equal(c.farms[0]!.cache.exposeTags, false);
    assert.equal(c.invalidation.api, undefined);
    assert.deepEqual(c.invalidation.webhooks, []);
  });

  it('an api block with a secret from the environment; per-kind defaults for webhooks', () => {
    const c = parseConfig(
      `${farms}invalidation:
  api:
    secret: \${FARMGATE_API_SECRET}
  webhooks:
    - { name: umbraco, kind: umbraco, secret: "0123456789abcdef", paths: ["/content/{startItem}{path}"] }
    - { name: cf, kind: contentful, secret: "0123456789abcdef", environments: [master] }
    - { name: strapi, kind: strapi, secret: "0123456789abcdef", farms: [site-a] }
`,
      'f.yaml',
      { FARMGATE_API_SECRET: 'a-long-api-secret-123' },
    );
    assert.deepEqual(c.invalidation.api, { path: '/farmgate/v1/invalidate', secret: 'a-long-api-secret-123' });
    const [u, cf, s] = c.invalidation.webhooks;
    assert.deepEqual([u!.auth, u!.header, u!.tagPrefix], ['header', 'X-Farmgate-Secret', 'umb-']);
    assert.deepEqual([cf!.auth, cf!.kind === 'contentful' && cf!.maxAgeMs], ['signature', 300000]);
    assert.deepEqual([s!.auth, s!.header, s!.kind === 'strapi' && s!.draftAndPublish], ['header', 'Authorization', true]);
  });

  it('reports a short secret, an unknown kind, a key another kind has, duplicates, unknown farms and placeholders', () => {
    const p = problems(`${farms}invalidation:
  api:
    path: /dispatcher/invalidate.cache
    secret: short
  webhooks:
    - name: a
      kind: drupal
      secret: "0123456789abcdef"
    - name: b
      kind: umbraco
      secret: "0123456789abcdef"
      environments: [master]
    - name: b
      kind: sanity
      secret: "0123456789abcdef"
      auth: header
    - name: c
      kind: strapi
      secret: "0123456789abcdef"
      farms: [site-z]
      paths: ["/content/{path}"]
`);
    const text = p.join('\n');
    assert.match(text, /f\.yaml:\d+:\d+ invalidation\.api\.secret: expected a secret of at least 16 characters/);
    assert.match(text, /invalidation\.webhooks\.0\.kind: /);
    assert.match(text, /invalidation\.webhooks\.1\.environments: unknown key "environments"/);
    assert.match(text, /invalidation\.webhooks\.2\.auth: expected one of "signature"/);
    assert.ok(p.length >= 4, text);
  });

  it('cross checks: duplicate names, farms that do not exist, placeholders of another kind, colliding paths', () => {
    const text = problems(`${farms}invalidation:
  api:
    path: /dispatcher/invalidate.cache
    secret: "0123456789abcdef"
  webhooks:
    - { name: b, kind: umbraco, secret: "0123456789abcdef" }
    - { name: b, kind: strapi, secret: "0123456789abcdef", farms: [site-z], paths: ["/content/{path}"] }
    - { name: g, kind: generic, secret: "0123456789abcdef", paths: ["/x"] }
`).join('\n');
    assert.match(text, /invalidation\.api\.path: the same path as flush\.path/);
    assert.match(text, /invalidation\.webhooks\.1\.name: duplicate webhook name "b"/);
    assert.match(text, /invalidation\.webhooks\.1\.farms\.0: no farm named "site-z"/);
    assert.match(text, /invalidation\.webhooks\.1\.paths\.0: unknown placeholder \{path\} for kind strapi/);
    assert.match(text, /invalidation\.webhooks\.2\.paths\.0: a generic webhook names its paths in its body/);
  });

  it('tagHeaders must be header names', () => {
    const text = problems(farms + '    cache:\n      tagHeaders: ["Surrogate Key"]\n      exposeTags: maybe\n').join('\n');
    assert.match(text, /farms\.0\.cache\.tagHeaders\.0: expected an HTTP header name/);
    assert.match(text, /farms\.0\.cache\.exposeTags: expected boolean/);
  });
});
