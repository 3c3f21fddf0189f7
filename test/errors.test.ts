import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { it } from 'node:test';
import { AppError, ERRORS } from '../src/errors.js';

it('docs/errors.md lists every error code, and only those', async () => {
  const doc = await fs.readFile('docs/errors.md', 'utf8');
  const listed = [...doc.matchAll(/^\| `(FG_[A-Z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()] as const);
  assert.deepEqual(listed.map(([c]) => c).sort(), Object.keys(ERRORS).sort());
  for (const [code, status] of listed) {
    const entry: { status: number; startup?: boolean } = ERRORS[code as keyof typeof ERRORS];
    // Config and start-up errors are printed and exit; they are never an HTTP status.
    if (code === 'FG_CONFIG_INVALID' || entry.startup) assert.equal(status, '–', code);
    else assert.equal(status, String(entry.status), code);
  }
});

it('an AppError carries its permanent code and status', () => {
  const e = new AppError('FG_RENDER_TIMEOUT', 'render http://x timed out', { cause: new Error('inner') });
  assert.equal(e.code, 'FG_RENDER_TIMEOUT');
  assert.equal(e.status, 504);
  assert.equal((e.cause as Error).message, 'inner');
});
