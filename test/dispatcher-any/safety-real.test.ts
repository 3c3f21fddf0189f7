/**
 * The safety invariant on every real Dispatcher tree in ../shared/fixtures/dispatcher-real/:
 * the imported config decides every generated request exactly as the original dispatcher.any
 * does (test/helpers/safety-check.ts), or more strictly where the importer said why. Variables
 * a `/type` reads (`${CRX_FILTER}`) are checked unset (imported as a deny), set to allow and
 * set to deny.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DispatcherAnyError } from '../../src/dispatcher-any/index.js';
import { parseDispatcherAny } from '../../src/dispatcher-any/parser.js';
import { realFixturesDir, realTrees } from '../helpers/real-fixtures.js';
import { checkSafety } from '../helpers/safety-check.js';

/** A value for every ${VAR} of a tree, so the imported YAML loads (IPs for *_IP names). */
function envFor(files: readonly string[], read: (f: string) => string): Record<string, string> {
  const env: Record<string, string> = {};
  let n = 10;
  for (const f of files) {
    for (const m of read(f).matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
      const name = m[1]!;
      if (env[name] !== undefined) continue;
      if (/_IP$/.test(name)) env[name] = `10.43.0.${n++}`;
      else if (/PORT/.test(name)) env[name] = '4503';
      else if (/DOCROOT/.test(name)) env[name] = '/tmp/farmgate-docroot';
      else if (/HOST/.test(name)) env[name] = `host-${n++}.local`;
      else if (/LEVEL/.test(name)) env[name] = '2';
      else env[name] = 'x';
    }
  }
  return env;
}

const found = realFixturesDir();

describe('the safety invariant on the real Dispatcher trees', () => {
  if ('missing' in found) {
    it('../shared/fixtures/dispatcher-real/ is absent: the real trees were NOT checked', (t) => {
      t.skip(`not found at ${found.missing.join(' or ')}`);
    });
    return;
  }
  const trees = realTrees(found.dir);
  it(`finds the trees (${trees.map((t) => t.name).join(', ')})`, () => assert.ok(trees.length >= 3));

  for (const tree of trees) {
    describe(tree.name, () => {
      let parsed: ReturnType<typeof parseDispatcherAny> | undefined;
      let refused: DispatcherAnyError | undefined;
      try {
        parsed = parseDispatcherAny(tree.main);
      } catch (err) {
        if (!(err instanceof DispatcherAnyError)) throw err;
        refused = err;
      }
      if (refused) {
        it('cannot be parsed: the importer refuses it with FILE:LINE, so there is nothing to compare', () => {
          assert.ok(refused!.problems.length > 0);
          for (const p of refused!.problems) assert.ok(p.line >= 1 && p.file.length > 0);
        });
        return;
      }
      const fs = parsed!.files;
      const base = envFor(fs, (f) => readFileSync(f, 'utf8'));
      const typeVars = [...new Set(fs.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\/type\s+"\$\{([A-Za-z_][A-Za-z0-9_]*)\}"/g)].map((m) => m[1]!)))];
      const variants: [string, Record<string, string>][] = typeVars.length === 0
        ? [['', base]]
        : [
            [`${typeVars.join(', ')} unset`, Object.fromEntries(Object.entries(base).filter(([k]) => !typeVars.includes(k)))],
            [`${typeVars.join(', ')} = allow`, { ...base, ...Object.fromEntries(typeVars.map((v) => [v, 'allow'])) }],
            [`${typeVars.join(', ')} = deny`, { ...base, ...Object.fromEntries(typeVars.map((v) => [v, 'deny'])) }],
          ];
      for (const [label, env] of variants) {
        it(`identical verdicts, or stricter where the importer said so${label ? ` (${label})` : ''}`, (t) => {
          const r = checkSafety(parsed!.root, env, { runs: 1000, seed: 11 });
          t.diagnostic(`${tree.name}: ${r.farms} farm(s), ${r.requests} requests, ${r.allowed} allowed by Dispatcher, ${r.stricter} stricter (explained)`);
          assert.ok(r.farms > 0);
          assert.ok(r.allowed > r.requests / 10, 'the requests reach the allow rules, not only the deny-all');
        });
      }
    });
  }
});
