/** The outbox: fsync'd appends survive a reopen, sent entries are not sent again, a torn tail is cut. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Outbox } from '../../src/propagation/outbox.js';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }))));
async function dir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-outbox-'));
  dirs.push(d);
  return d;
}
const entry = (n: number) => ({ v: '1', payload: JSON.stringify({ id: `e${n}` }), sig: 'ab'.repeat(32) });

describe('outbox', () => {
  it('keeps entries in order across a reopen, and forgets what was sent', async () => {
    const d = await dir();
    let box = await Outbox.open(d);
    for (let i = 0; i < 3; i++) await box.append(entry(i));
    await box.close();
    box = await Outbox.open(d);
    assert.equal(box.depth, 3);
    assert.deepEqual(box.peek(), entry(0));
    await box.markSent();
    await box.close();
    box = await Outbox.open(d);
    assert.equal(box.depth, 2, 'the sent entry is not sent again after a restart');
    assert.deepEqual(box.peek(), entry(1));
    await box.markSent();
    await box.markSent();
    assert.equal(box.depth, 0);
    assert.equal((await fs.stat(box.file)).size, 0, 'emptied once everything is sent');
    await box.append(entry(9));
    await box.close();
    box = await Outbox.open(d);
    assert.deepEqual(box.peek(), entry(9));
    await box.close();
  });

  it('cuts a torn last line (a crash mid-append, never answered 200)', async () => {
    const d = await dir();
    await fs.writeFile(path.join(d, 'outbox.jsonl'), JSON.stringify(entry(1)) + '\n{"v":"1","payl');
    const box = await Outbox.open(d);
    assert.equal(box.depth, 1);
    await box.append(entry(2));
    await box.close();
    const again = await Outbox.open(d);
    assert.equal(again.depth, 2);
    await again.close();
  });
});
