/**
 * The invalidation API's request body → an Invalidation, or the AppError to answer with. Pure.
 *
 * Contract section 4a: `{"paths": ["/content/site-a/en/page.html", …], "tags": ["product-42", …],
 * "action": "Activate" | "Delete", "farms": ["site-a"]}` (`action` default `Activate`; `farms`
 * default: every farm). A path is validated like a flush handle, a tag like a stored tag. Unknown
 * keys are refused: a typo (`"tag"` for `"tags"`) must not silently invalidate nothing.
 *
 * One addition, optional: `"ts"`, the sender's clock in milliseconds. When present it is covered
 * by the signature and must be within five minutes of ours, and a body seen before is answered
 * as a duplicate: a captured request cannot be replayed later. `farmgate flush --tag` sends it.
 */
import { z } from 'zod';
import { AppError } from '../errors.js';
import { parseHandle } from '../flush/parse.js';
import { tagProblem } from '../tags/parse.js';
import { checkTimestamp } from './signature.js';

export type InvalidationAction = 'Activate' | 'Delete';

export interface Invalidation {
  readonly action: InvalidationAction;
  /** Validated handles, each acting like a flush of that handle; no duplicates. */
  readonly paths: readonly string[];
  /** Valid tags; no duplicates. */
  readonly tags: readonly string[];
  /** Farms to act in; undefined = every farm. */
  readonly farms: readonly string[] | undefined;
}

/** The same five minutes as a signed webhook. */
export const API_MAX_AGE_MS = 300_000;

const body = z.strictObject({
  paths: z.array(z.string()).optional(),
  tags: z.array(z.string()).optional(),
  action: z.string().optional(),
  farms: z.array(z.string()).min(1).optional(),
  ts: z.number().optional(),
});

export type ParsedInvalidation = { ok: true; value: Invalidation; ts: number | undefined } | { ok: false; error: AppError };

const bad = (message: string): ParsedInvalidation => ({ ok: false, error: new AppError('FG_INVALIDATION_BAD_REQUEST', message) });

/**
 * Parses a verified body. `farmNames` are the farms that exist (an unknown one is refused).
 *
 * @example parseInvalidation(Buffer.from('{"tags":["product-42"]}'), { farmNames: ['site-a'], now: Date.now() })
 *   // { ok: true, value: { action: 'Activate', paths: [], tags: ['product-42'], farms: undefined }, ts: undefined }
 */
export function parseInvalidation(raw: Buffer, opts: { farmNames: readonly string[]; now: number }): ParsedInvalidation {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    return bad(`body is not JSON: ${(err as Error).message}`);
  }
  return invalidationFrom(json, opts);
}

/** The same checks for an already parsed JSON value (the generic webhook's body). */
export function invalidationFrom(json: unknown, opts: { farmNames: readonly string[]; now: number }): ParsedInvalidation {
  const parsed = body.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    const message = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (expected paths, tags, action, farms)` : issue.message;
    return bad(`${where}${message}`);
  }
  const b = parsed.data;
  if (b.ts !== undefined) {
    const t = checkTimestamp(b.ts, opts.now, API_MAX_AGE_MS);
    if (!t.ok) return { ok: false, error: new AppError('FG_INVALIDATION_UNAUTHORIZED', `ts: ${t.reason}`) };
  }
  let action: InvalidationAction = 'Activate';
  if (b.action !== undefined) {
    const a = b.action.trim().toLowerCase();
    if (a === 'activate') action = 'Activate';
    else if (a === 'delete') action = 'Delete';
    else return bad(`action: expected "Activate" or "Delete", got ${JSON.stringify(b.action)}`);
  }
  const paths = new Set<string>();
  for (const [i, p] of (b.paths ?? []).entries()) {
    const h = parseHandle(p);
    if (!h.ok) return bad(`paths.${i}: invalid path ${JSON.stringify(p.slice(0, 200))}: ${h.reason}`);
    paths.add(h.handle);
  }
  const tags = new Set<string>();
  for (const [i, t] of (b.tags ?? []).entries()) {
    const problem = tagProblem(t);
    if (problem) return bad(`tags.${i}: ${problem}`);
    tags.add(t);
  }
  if (paths.size === 0 && tags.size === 0) return bad('nothing to invalidate: give "paths" or "tags"');
  let farms: string[] | undefined;
  if (b.farms) {
    farms = [];
    for (const [i, f] of b.farms.entries()) {
      if (!opts.farmNames.includes(f)) return bad(`farms.${i}: no farm named ${JSON.stringify(f)} (farms: ${opts.farmNames.join(', ')})`);
      if (!farms.includes(f)) farms.push(f);
    }
  }
  return { ok: true, value: { action, paths: [...paths], tags: [...tags], farms }, ts: b.ts };
}
