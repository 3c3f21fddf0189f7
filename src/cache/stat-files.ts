/**
 * `.stat` files: which ones a flush touches, which one decides a cached file's freshness. Pure.
 *
 * "Use the /statfileslevel property to invalidate cached files according to their path: Dispatcher
 *  creates .stat files in each folder from the docroot folder to the level that you specify. The
 *  docroot folder is level 0. When a file is invalidated, all .stat files from the docroot to the
 *  level of the invalidated file or the configured statfileslevel (whichever is smaller) are
 *  touched." (Adobe, Configure Dispatcher, "Invalidating files by folder level")
 */

/** Folder segments of a document path's folder: `/content/site/en.html` → [content, site]. */
function folderSegments(docPath: string): string[] {
  const segs = docPath.split('/').filter(Boolean);
  segs.pop();
  return segs;
}

/** Does the last segment of a handle have an extension (`logo.png`, not `en`)? */
export function hasExtension(handle: string): boolean {
  const last = handle.slice(handle.lastIndexOf('/') + 1);
  return last.lastIndexOf('.') > 0;
}

/**
 * Folders (as `/`-rooted document paths, the docroot being `/`) whose `.stat` a flush of
 * `handle` touches, docroot first: levels 0..min(statfileslevel, D), where D is the depth of
 * the handle's folder (the handle itself when it has no extension, its parent otherwise).
 *
 * @example planStatTouches('/content/site/en/products', 3)
 *   // ['/', '/content', '/content/site', '/content/site/en']
 */
export function planStatTouches(handle: string, statfileslevel: number): string[] {
  const segs = handle.split('/').filter(Boolean);
  const depth = hasExtension(handle) ? segs.length - 1 : segs.length;
  const max = Math.min(statfileslevel, depth);
  const out: string[] = [];
  for (let level = 0; level <= max; level++) out.push('/' + segs.slice(0, level).join('/'));
  return out;
}

/**
 * Folders to look in for the `.stat` that governs a cached file, nearest first: from the file's
 * folder capped at statfileslevel, walking up to the docroot. The first that exists decides.
 *
 * "Any page which shares one of these .stat files as its nearest .stat ancestor is now
 *  considered invalidated." (adobe/aem-dispatcher-experiments, statfileslevel)
 *
 * @example statLookupOrder('/content/site/en/products/shoes.html', 3)
 *   // ['/content/site/en', '/content/site', '/content', '/']
 */
export function statLookupOrder(docPath: string, statfileslevel: number): string[] {
  const segs = folderSegments(docPath).slice(0, statfileslevel);
  const out: string[] = [];
  for (let level = segs.length; level >= 0; level--) out.push('/' + segs.slice(0, level).join('/'));
  return out;
}

export interface FreshnessInput {
  /** mtime of the cached file: when its render request started. */
  readonly fileMtimeMs: number;
  /** mtime of the nearest existing `.stat`, or undefined when there is none. */
  readonly statMtimeMs: number | undefined;
  /** Does `cache.invalidate` allow this file to go stale? */
  readonly invalidates: boolean;
  readonly gracePeriodMs: number;
  /** With enableTTL, the expiry from the `.ttl` sidecar (undefined when none). */
  readonly ttlExpiresMs: number | undefined;
  readonly now: number;
}

export type Freshness = 'fresh' | 'stale-stat' | 'stale-ttl';

/**
 * "The .stat file's last modification date is compared to the last modification date of a
 *  cached document. The document is refetched if the .stat file is newer." (Configure Dispatcher)
 * and /gracePeriod: "the number of seconds a stale, auto-invalidated resource may still be served
 *  from the cache after the last occurring activation".
 *
 * Equal times count as stale: a file whose render started in the same millisecond as a flush
 * may hold pre-flush content.
 */
export function freshness(i: FreshnessInput): Freshness {
  if (i.ttlExpiresMs !== undefined && i.now >= i.ttlExpiresMs) return 'stale-ttl';
  if (
    i.invalidates &&
    i.statMtimeMs !== undefined &&
    i.statMtimeMs >= i.fileMtimeMs &&
    i.now - i.statMtimeMs >= i.gracePeriodMs
  ) {
    return 'stale-stat';
  }
  return 'fresh';
}
