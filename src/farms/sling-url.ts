/**
 * Sling's decomposition of a request path: `path.selectors.extension/suffix`.
 *
 * Syntactic, as Dispatcher does it: the first dot in the path ends the resource path; the rest
 * of that segment is selectors and extension; everything after it is the suffix.
 * `/content/page.a.b.html/s/x.json` → path `/content/page`, selectors `a.b`, extension `html`,
 * suffix `/s/x.json`.
 */
export interface SlingUrl {
  readonly path: string;
  readonly selectors: string;
  readonly extension: string;
  readonly suffix: string;
}

export function decomposeSlingUrl(urlPath: string): SlingUrl {
  const dot = urlPath.indexOf('.');
  if (dot < 0) return { path: urlPath, selectors: '', extension: '', suffix: '' };
  const slash = urlPath.indexOf('/', dot);
  const tail = urlPath.slice(dot + 1, slash < 0 ? urlPath.length : slash).split('.');
  const extension = tail.pop() ?? '';
  return {
    path: urlPath.slice(0, dot),
    selectors: tail.join('.'),
    extension,
    suffix: slash < 0 ? '' : urlPath.slice(slash),
  };
}
