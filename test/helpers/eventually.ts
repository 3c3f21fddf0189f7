/**
 * Waits for a condition by polling it (a few ms apart), up to a deadline: the event-based
 * replacement for "sleep long enough" in tests that depend on another process noticing a change
 * (statCheckIntervalMs, a TTL, a grace period). Resolves with the first truthy value.
 */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, opts: { timeoutMs?: number; everyMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  let last: unknown;
  for (;;) {
    const v = await probe();
    if (v) return v;
    last = v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'a condition'} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 10));
  }
}
