/**
 * A cached file's tags in its `.h` sidecar: the source of truth the index is rebuilt from after a
 * crash, and what `test-url` reads without a running server. The `.h` file is JSON with a version
 * field (`{"v":1,"headers":[…],"tags":[…]}`); `tags` is absent for an untagged file, and readers
 * that do not know it ignore it. Pure.
 */
import { checkTags } from './journal.js';

/** The tags recorded in a `.h` file's text; empty when none or unreadable. */
export function sidecarTags(text: string): readonly string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!parsed || typeof parsed !== 'object' || (parsed as { v?: unknown }).v !== 1) return [];
  const tags = (parsed as { tags?: unknown }).tags;
  if (tags === undefined) return [];
  const checked = checkTags(tags);
  return checked.ok ? checked.value : [];
}
