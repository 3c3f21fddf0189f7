import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatTimes } from '../../src/cache/stat-times.js';
import type { StatLookup } from '../../src/cache/store.js';

/** A disk read that answers when the test says so. */
function heldReads(disk: Map<string, number | undefined>) {
  const pending: (() => void)[] = [];
  const read = (key: string) =>
    new Promise<number | undefined>((resolve) => {
      const value = disk.get(key); // what the disk held when the read was made
      pending.push(() => resolve(value));
    });
  return { read, release: () => pending.splice(0).forEach((r) => r()) };
}

const lookup = (...keys: string[]) => keys as unknown as StatLookup;

describe('StatTimes', () => {
  it('the nearest existing .stat decides; a recent answer is served from memory', async () => {
    let t = 1000;
    const disk = new Map<string, number | undefined>([['/d/a/.stat', undefined], ['/d/.stat', 500]]);
    let reads = 0;
    const times = new StatTimes(() => t, async (k) => (reads++, disk.get(k)));
    const l = lookup('/d/a/.stat', '/d/.stat');
    assert.equal(times.peek(l, 100), 'check');
    assert.equal(await times.nearest(l, 100), 500);
    assert.equal(reads, 2);
    assert.equal(times.peek(l, 100), 500);
    t += 100;
    assert.equal(times.peek(l, 100), 'check');
  });

  it('a flush that touches a .stat while it is being read wins over the read', async () => {
    const t = 1000;
    const disk = new Map<string, number | undefined>([['/d/a/.stat', undefined], ['/d/.stat', 500]]);
    const held = heldReads(disk);
    const times = new StatTimes(() => t, held.read);
    const l = lookup('/d/a/.stat', '/d/.stat');
    const reading = times.nearest(l, 100);
    // The flush creates /d/a/.stat at 900 while the read (which found none) is in flight.
    disk.set('/d/a/.stat', 900);
    times.set('/d/a/.stat', 900);
    held.release();
    assert.equal(await reading, 900, 'this request sees the flush');
    assert.equal(times.peek(l, 100), 900, 'and the next ones too, not the read taken before it');
  });

  it('a .stat forgotten (its folder deleted) while it is read is not brought back by the read', async () => {
    const disk = new Map<string, number | undefined>([['/d/a/.stat', 700]]);
    const held = heldReads(disk);
    const times = new StatTimes(() => 1000, held.read);
    const reading = times.nearest(lookup('/d/a/.stat'), 100);
    times.forget('/d/a/', true);
    held.release();
    assert.equal(await reading, 700);
    assert.equal(times.peek(lookup('/d/a/.stat'), 100), 'check', 'not known: read again next time');
  });
});
