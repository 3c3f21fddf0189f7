/**
 * Which render response headers carry tags, whether clients see them, and whether a hit replays
 * them: one decision per farm, used by every path that answers from a render (fill, pass,
 * refetch) and by the `.h` writer. Pure.
 *
 * "Unless `exposeTags`, those headers do not reach the client" (contract section 4a): hidden on
 * misses and passes, and never stored in `.h`, so a hit cannot replay them either; with
 * `exposeTags` they pass through and are stored, so a hit shows what the miss showed. Hiding them
 * by default also keeps a long tag list out of the front server's response buffers (peers §3.7:
 * "upstream sent too big header").
 */
export interface TagHeaderPolicy {
  /** The tag header names, lower-case, in `tagHeaders` order. */
  readonly names: readonly string[];
  /** Names never sent to a client (empty with `exposeTags`). */
  readonly hidden: ReadonlySet<string>;
  readonly expose: boolean;
}

const policies = new WeakMap<object, TagHeaderPolicy>();

/** The policy of a farm's `cache` config, computed once per (frozen) config object. */
export function tagHeaderPolicy(cache: { readonly tagHeaders: readonly string[]; readonly exposeTags: boolean }): TagHeaderPolicy {
  let p = policies.get(cache);
  if (!p) {
    const names = cache.tagHeaders.map((h) => h.toLowerCase());
    p = { names, hidden: new Set(cache.exposeTags ? [] : names), expose: cache.exposeTags };
    policies.set(cache, p);
  }
  return p;
}

const storedSets = new WeakMap<TagHeaderPolicy, WeakMap<ReadonlySet<string>, ReadonlySet<string>>>();

/** The header names stored in `.h`: `cache.headers`, minus tag headers, or plus them with `exposeTags`. */
export function storedHeaderNames(stored: ReadonlySet<string>, policy: TagHeaderPolicy): ReadonlySet<string> {
  if (policy.names.length === 0) return stored;
  let byStored = storedSets.get(policy);
  if (!byStored) storedSets.set(policy, (byStored = new WeakMap()));
  let out = byStored.get(stored);
  if (!out) {
    const set = new Set(stored);
    for (const n of policy.names) {
      if (policy.expose) set.add(n);
      else set.delete(n);
    }
    byStored.set(stored, (out = set));
  }
  return out;
}
