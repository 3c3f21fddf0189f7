/**
 * An injected clock for tests (http-cache-semantics: "the clock can be swapped in tests").
 * `followReal` (the default) is the real time plus whatever the test added with advance(): real
 * renders and real file mtimes keep their order, and a test can still jump over a window (the
 * degraded window after a disk fault, a grace period) without waiting for it. `manual` stands
 * still until advanced.
 */
export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export function testClock(mode: 'followReal' | 'manual' = 'followReal', start = Date.now()): TestClock {
  let offset = 0;
  if (mode === 'manual') {
    let t = start;
    return { now: () => t, advance: (ms) => void (t += ms) };
  }
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
}
