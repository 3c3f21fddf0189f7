/**
 * Waiting on a condition another process makes true (a file appears, a server answers): checked
 * on every turn of the event loop and a short timer, failing with `what` after `timeoutMs`. For
 * what happens in this process, wait on its event instead (a promise the code resolves).
 */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
