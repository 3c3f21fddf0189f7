/**
 * Cache tags from render response headers (contract section 4a). Pure.
 *
 * "A render response's `cache.tagHeaders` (values separated by spaces or commas) tag the file
 * stored from it … A tag is at most 1,024 bytes; a file keeps at most 1,000 tags (more are
 * dropped, and it is logged)."
 *
 * The rule for an oversized tag header, so that the page is still cached and the outcome never
 * depends on timing: headers are read in `tagHeaders` order, values left to right; a token that
 * is not a valid tag (over 1,024 bytes of UTF-8, or holding a control character) is dropped; a
 * repeated tag counts once; once 1,000 distinct tags are kept, the rest are dropped. So a render
 * that lists its page's own id first keeps it, whatever it appends (peers §3.7: Fastly's
 * 1,024-character keys broke silently; users trim tag lists to fit header limits).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** "A tag is at most 1,024 bytes." */
export const MAX_TAG_BYTES = 1024;
/** "A file keeps at most 1,000 tags." */
export const MAX_TAGS_PER_FILE = 1000;

/** Separators between tags in a header value: spaces (Fastly, Varnish xkey) or commas (Cloudflare). */
const SEPARATORS = /[ \t,]+/;
/** C0 controls and DEL never appear in a tag (a header cannot carry CR/LF anyway). */
const CONTROL = /[\u0000-\u001f\u007f]/;

export interface ParsedTags {
  /** Distinct tags in the order they were first seen, at most MAX_TAGS_PER_FILE. */
  readonly tags: string[];
  /** Tokens over MAX_TAG_BYTES or holding a control character. */
  readonly invalid: number;
  /** Valid distinct tags dropped because MAX_TAGS_PER_FILE were already kept. */
  readonly overLimit: number;
  /** The first dropped token, shortened, for the log line. */
  readonly example: string | undefined;
}

/**
 * Why a string cannot be a tag, or undefined when it can. Used for tags named in the
 * invalidation API and webhooks, so that they are held to the same rule as stored ones.
 *
 * @example tagProblem('product-42') // undefined
 * @example tagProblem('a b') // 'a tag cannot contain spaces or commas'
 */
export function tagProblem(tag: string): string | undefined {
  if (tag.length === 0) return 'a tag cannot be empty';
  if (SEPARATORS.test(tag)) return 'a tag cannot contain spaces or commas';
  if (CONTROL.test(tag)) return 'a tag cannot contain control characters';
  const bytes = Buffer.byteLength(tag, 'utf8');
  if (bytes > MAX_TAG_BYTES) return `a tag is at most ${MAX_TAG_BYTES} bytes (this one has ${bytes})`;
  return undefined;
}

/**
 * Header values → tags, by the rule above.
 *
 * @example parseTagValues(['a b,c', 'a  d']).tags // ['a', 'b', 'c', 'd']
 */
export function parseTagValues(values: readonly string[], max = MAX_TAGS_PER_FILE): ParsedTags {
  const seen = new Set<string>();
  const tags: string[] = [];
  let invalid = 0;
  let overLimit = 0;
  let example: string | undefined;
  for (const value of values) {
    for (const token of value.split(SEPARATORS)) {
      if (token === '' || seen.has(token)) continue;
      seen.add(token);
      if (tagProblem(token) !== undefined) {
        invalid++;
        example ??= shorten(token);
      } else if (tags.length >= max) {
        overLimit++;
        example ??= shorten(token);
      } else tags.push(token);
    }
  }
  return { tags, invalid, overLimit, example };
}

/**
 * The values of the tag headers of a render response, in `tagHeaders` order. Node (and undici)
 * read header bytes as latin1; a render that sends UTF-8 tags gets them back as UTF-8.
 */
export function tagHeaderValues(headers: IncomingHttpHeaders, names: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    const v = headers[name.toLowerCase()];
    if (v === undefined) continue;
    for (const s of Array.isArray(v) ? v : [v]) out.push(utf8(s));
  }
  return out;
}

/** Tags of a render response: tagHeaderValues + parseTagValues. */
export function responseTags(headers: IncomingHttpHeaders, names: readonly string[]): ParsedTags {
  return parseTagValues(tagHeaderValues(headers, names));
}

function utf8(s: string): string {
  if (!/[\u0080-\u00ff]/.test(s) || /[^\u0000-\u00ff]/.test(s)) return s;
  const decoded = Buffer.from(s, 'latin1').toString('utf8');
  // Not valid UTF-8: keep the latin1 reading rather than replacement characters.
  return decoded.includes('\ufffd') ? s : decoded;
}

function shorten(token: string): string {
  return token.length > 80 ? `${token.slice(0, 80)}… (${Buffer.byteLength(token)} bytes)` : token;
}
