/**
 * The flush planner: (statfileslevel, action, scope, handle, listing of the handle's folder) →
 * the `.stat` folders to touch and the document paths to delete. Pure: plain values in, plain
 * values out; the executor (execute.ts) does the I/O and `farmgate explain` shows the same plan.
 *
 * Let H be the handle, dir(H) its folder and base(H) its last segment (reference §1.4):
 *
 * "Activate deletes the file H itself if present, `dir(H)/base(H).*` (with sidecars) and the
 *  folder `H/_jcr_content`; `Deactivate` and `Delete` also delete the folder `H`. Unless
 *  `ResourceOnly`, `.stat` files are touched (created if missing) in the docroot and in each
 *  folder along H's path, down to level `min(statfileslevel, D)`" (contract section 4).
 *
 * Deletion ignores `cache.invalidate`: "if the page /foo/bar is activated, all /foo/bar.* files
 * are removed" (Adobe's default farm). Sidecars `x.html.h` and `x.html.ttl` match `base.*` and go
 * with their page.
 */
import { planStatTouches } from '../cache/stat-files.js';
import type { ListingEntry } from '../cache/store.js';
import type { FlushAction, FlushScope } from './types.js';


export interface PlannedDelete {
  /** Document path (`/`-rooted, relative to the docroot). */
  readonly docPath: string;
  /** `file`: a file or symlink found in the listing; `tree`: a folder, deleted with its contents if present. */
  readonly kind: 'file' | 'tree';
}

export interface FlushPlan {
  readonly deletes: readonly PlannedDelete[];
  /** Folders whose `.stat` is touched, docroot (`/`) first. */
  readonly statTouches: readonly string[];
  /**
   * What the flush invalidates by deletion, cached or not, so a render already in flight for it
   * is never stored afterwards: `H` (the file), `H.` (every `base(H).*`), `F/` (a folder tree).
   */
  readonly fences: readonly string[];
}

export interface PlanInput {
  readonly statfileslevel: number;
  readonly action: FlushAction;
  readonly scope: FlushScope;
  /** A handle that passed parseHandle: absolute, no `.`/`..`, no trailing slash except `/`. */
  readonly handle: string;
  /** The listing of `listingFolder(handle)`; empty when that folder does not exist. */
  readonly listing: readonly ListingEntry[];
}

export const EMPTY_PLAN: FlushPlan = Object.freeze({ deletes: [], statTouches: [], fences: [] });

/** The folder whose listing the planner needs: dir(H), or the docroot itself for handle `/`. */
export function listingFolder(handle: string): string {
  if (handle === '/') return '/';
  const i = handle.lastIndexOf('/');
  return i <= 0 ? '/' : handle.slice(0, i);
}

/**
 * @example planFlush({ statfileslevel: 3, action: 'Activate', scope: undefined,
 *   handle: '/content/site/en/products', listing: [{ name: 'products.html', isDirectory: false }] })
 *   // deletes: /content/site/en/products.html (file), /content/site/en/products/_jcr_content (tree)
 *   // statTouches: ['/', '/content', '/content/site', '/content/site/en']
 */
export function planFlush(input: PlanInput): FlushPlan {
  const { action, scope, handle, listing, statfileslevel } = input;
  // "`Test` does nothing and answers 200" (contract section 4).
  if (action === 'Test') return EMPTY_PLAN;

  // "CQ-Action-Scope: ResourceOnly … Invalidation … can be prevented": the handle's own files
  // still go, no `.stat` is touched (reference §1.2).
  const statTouches = scope === 'ResourceOnly' ? [] : planStatTouches(handle, statfileslevel);
  const removesFolder = action === 'Deactivate' || action === 'Delete';

  if (handle === '/') {
    // "The handle `/` never deletes the docroot itself: Activate touches the root `.stat`;
    //  Deactivate and Delete empty the docroot (keeping its folder) and touch the root `.stat`."
    // The root `.stat` is kept, not deleted and re-created, so the docroot never has a moment
    // without one.
    const deletes: PlannedDelete[] = removesFolder
      ? sorted(listing)
          .filter((e) => e.name !== '.stat')
          .map((e) => ({ docPath: '/' + e.name, kind: e.isDirectory ? 'tree' : 'file' }))
      : [];
    return { deletes, statTouches, fences: planFences(action, handle) };
  }

  const dir = listingFolder(handle);
  const base = handle.slice(handle.lastIndexOf('/') + 1);
  const prefix = dir === '/' ? '/' : dir + '/';
  const deletes: PlannedDelete[] = [];
  for (const entry of sorted(listing)) {
    if (entry.isDirectory) continue;
    // "all files in dir(H) named base(H) of any file extension" (reference §1.4): H itself and
    // `base.*`, which covers `base.html`, `base.mobile.html`, `base.html.h`, `base.html.ttl`.
    if (entry.name === base || entry.name.startsWith(base + '.')) {
      deletes.push({ docPath: prefix + entry.name, kind: 'file' });
    }
  }
  if (removesFolder) {
    // "The directory `en` is only deleted if the CQ-Action is Delete or Deactivate" (Dispatcher
    // FAQ); its `_jcr_content` goes with it.
    deletes.push({ docPath: handle, kind: 'tree' });
  } else {
    // "… and the directory `H/_jcr_content`" (cached renderings of sub-nodes).
    deletes.push({ docPath: handle + '/_jcr_content', kind: 'tree' });
  }
  return { deletes, statTouches, fences: planFences(action, handle) };
}

/**
 * What a flush deletes, named without a listing (see FlushPlan.fences): the caller fences these
 * before it lists dir(H), so a copy stored by a render that finishes in between is caught too.
 */
export function planFences(action: FlushAction, handle: string): string[] {
  if (action === 'Test') return [];
  const removesFolder = action === 'Deactivate' || action === 'Delete';
  if (handle === '/') return removesFolder ? ['/'] : [];
  return [handle, handle + '.', removesFolder ? handle + '/' : handle + '/_jcr_content/'];
}

function sorted(listing: readonly ListingEntry[]): ListingEntry[] {
  return [...listing].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
