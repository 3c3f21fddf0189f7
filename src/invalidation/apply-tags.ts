/**
 * A tag invalidation in one docroot: "a tag deletes every cached file that carries it (in the
 * given farms), with its sidecars, and touches no `.stat`" (contract section 4a).
 *
 * Order, so that no copy older than the invalidation survives it or comes back:
 * 1. the tags are fenced (tags/fences.ts): from now on a render that started before cannot be
 *    stored, whether or not anyone knew it would carry the tag;
 * 2. `store.settle()`: writes that passed their checks before the fence are installed and
 *    recorded in the index;
 * 3. the index names the files carrying the tags (after a crash, once its rebuild is done): the
 *    cost follows those files, not the cache;
 * 4. they are removed through the store, folder by folder (which fences each path and forgets it
 *    in the index), each with its `.h` and `.ttl`.
 */
import type { CacheStore } from '../cache/store.js';
import type { TagStore } from '../tags/tag-store.js';

export interface TagInvalidationResult {
  /** Document paths of the files deleted (sidecars not listed), sorted. */
  readonly deleted: string[];
  /** Files that carried each tag when the invalidation started. */
  readonly byTag: Record<string, number>;
}

export async function invalidateTags(store: CacheStore, index: TagStore, tags: readonly string[], at: number): Promise<TagInvalidationResult> {
  index.fences.note(tags, at);
  await store.settle();
  await index.whenReady();
  const byTag: Record<string, number> = {};
  for (const tag of tags) byTag[tag] = index.filesWithNow(tag).size;
  const files = await index.filesWith(tags);
  const deleted = await store.removeFiles(files);
  // Files already gone (another process, an earlier flush): nothing to delete, nothing to remember.
  if (deleted.length < files.length) {
    const removed = new Set(deleted);
    for (const docPath of files) if (!removed.has(docPath)) index.forget(docPath);
  }
  return { deleted: deleted.sort(), byTag };
}
