/**
 * What to warm: a URL list (one absolute URL, or a path with `--host`, per line; `#` comments)
 * or a sitemap (a file or URL; a sitemap index is followed one level).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseSitemap } from './sitemap.js';

/** One request to send: the path goes to the base URL, `host` into the Host header. */
export interface WarmTarget {
  readonly host: string;
  readonly path: string;
}

export const describeTarget = (t: WarmTarget) => `http://${t.host}${t.path}`;

/** An absolute URL or, with `host`, a path → a target; an Error says what is wrong. */
export function toTarget(entry: string, host: string | undefined): WarmTarget | Error {
  if (/^https?:\/\//i.test(entry)) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      return new Error(`not a valid URL: ${entry}`);
    }
    return { host: url.host, path: url.pathname + url.search };
  }
  if (entry.startsWith('/')) {
    if (!host) return new Error(`${entry} is a path: give --host HOST, or write absolute URLs (http://site-a.local${entry})`);
    return { host, path: entry };
  }
  return new Error(`expected an absolute URL (http://host/path) or a path starting with "/", got ${JSON.stringify(entry)}`);
}

export interface Collected {
  readonly targets: WarmTarget[];
  /** Problems with the input, each naming where. */
  readonly problems: string[];
  /** Entries (URL-list lines, sitemap `<loc>`s) that could not become a target: counted as not warmed. */
  readonly invalid: number;
}

export function parseUrlList(text: string, file: string, host: string | undefined): Collected {
  const targets: WarmTarget[] = [];
  const problems: string[] = [];
  let invalid = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const t = toTarget(line, host);
    if (t instanceof Error) {
      problems.push(`${file}:${i + 1}: ${t.message}`);
      invalid++;
    } else targets.push(t);
  });
  return { targets, problems, invalid };
}

/** Fetches a document through the running farmgate (so a sitemap is read as users read it). */
export type Fetcher = (target: WarmTarget) => Promise<string>;

/**
 * Reads a sitemap from a file or URL. An index's entries are read (URLs through `fetch`, other
 * entries as files relative to the index file); an index inside an index is not followed.
 */
export async function collectSitemap(source: string, host: string | undefined, fetch: Fetcher): Promise<Collected> {
  const problems: string[] = [];
  const targets: WarmTarget[] = [];
  let invalid = 0;
  const top = await load(source, undefined);
  if (!top) return { targets, problems, invalid };
  const pages: { locs: string[]; from: string }[] = [];
  if (top.kind === 'index') {
    for (const loc of top.locs) {
      const child = await load(loc, source);
      if (!child) continue;
      if (child.kind === 'index') problems.push(`${loc}: a sitemap index inside a sitemap index is not followed (one level only)`);
      else pages.push({ locs: child.locs, from: loc });
    }
  } else pages.push({ locs: top.locs, from: source });
  for (const { locs, from } of pages) {
    for (const loc of locs) {
      const t = toTarget(loc, host);
      if (t instanceof Error) {
        problems.push(`${from}: ${t.message}`);
        invalid++;
      } else targets.push(t);
    }
  }
  return { targets, problems, invalid };

  async function load(where: string, parent: string | undefined) {
    let xml: string;
    try {
      if (/^https?:\/\//i.test(where)) {
        const t = toTarget(where, host);
        if (t instanceof Error) throw t;
        xml = await fetch(t);
      } else if (where.startsWith('/') && parent && /^https?:\/\//i.test(parent)) {
        xml = await fetch({ host: new URL(parent).host, path: where });
      } else {
        xml = await readFile(parent && !path.isAbsolute(where) ? path.join(path.dirname(parent), where) : where, 'utf8');
      }
    } catch (err) {
      problems.push(`${where}: cannot read the sitemap: ${(err as Error).message}`);
      return undefined;
    }
    try {
      return parseSitemap(xml);
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
      return undefined;
    }
  }
}
