/**
 * The tag index listening to a cache store (cache/store.ts StoreObserver): every file stored is
 * recorded with its tags (replacing the old ones), every deletion, whatever its door (a flush, a
 * tag invalidation, a folder or root Deactivate), forgets what it deleted, and a write whose render
 * started before one of its tags was invalidated is refused.
 */
import type { StoreObserver } from '../cache/store.js';
import type { TagStore } from './tag-store.js';

export function tagObserver(tags: TagStore): StoreObserver {
  return {
    admits: (_docPath, meta, startedAt) => !tags.fences.predates(meta.tags ?? [], startedAt),
    stored: (docPath, meta) => tags.record(docPath, meta.tags ?? []),
    removed: (docPath, kind) => (kind === 'tree' ? tags.forgetUnder(docPath) : tags.forget(docPath)),
  };
}
