/**
 * The propagation session: joined, held, epoch and stopping in one object, and the waits the
 * consumer and start() use instead of polling.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Session } from '../../src/propagation/session.js';

describe('Session', () => {
  it('whenJoined resolves at the join; a lost connection makes it wait again', async () => {
    const s = new Session();
    let joined = false;
    const waiting = s.whenJoined().then(() => (joined = true));
    await Promise.resolve();
    assert.equal(joined, false);
    s.join('e1');
    await waiting;
    assert.deepEqual([s.joined, s.active, s.epoch], [true, true, 'e1']);
    s.lose();
    assert.equal(s.active, false);
    let again = false;
    void s.whenJoined().then(() => (again = true));
    await Promise.resolve();
    assert.equal(again, false);
  });

  it('held: whenReleased waits for the release; restore() brings back what was persisted', async () => {
    const s = new Session();
    s.restore({ held: true, epoch: 'e0' });
    assert.deepEqual([s.held, s.holding, s.epoch], [true, true, 'e0']);
    const released = s.whenReleased();
    assert.equal(s.setHeld(true), false, 'no change');
    assert.equal(s.setHeld(false), true);
    await released;
  });

  it('stop() wakes every waiter and ends being active or holding', async () => {
    const s = new Session();
    s.restore({ held: true });
    const waits = Promise.all([s.whenJoined(), s.whenReleased()]);
    s.stop();
    await waits;
    assert.deepEqual([s.stopping, s.active, s.holding], [true, false, false]);
  });
});
