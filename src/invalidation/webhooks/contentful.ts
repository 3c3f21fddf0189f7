/**
 * Contentful webhooks.
 *
 * Topics: `X-Contentful-Topic: ContentManagement.[Type].[Action]`, e.g. `ContentManagement.Entry.publish`
 * (contentful.com/developers/docs/webhooks/headers). Publish sends the entity (`sys` + localised
 * `fields`); unpublish and delete send a tombstone, `sys.type` `DeletedEntry`/`DeletedAsset`, with
 * the id and content type but no fields, so no slug (contentful/contentful.php#101; changelog
 * "Updated webhook delete/unpublish tombstone"). Duplicates: "In rare cases, webhooks can fire
 * twice for a single action", recognised by `X-Contentful-Idempotency-Key` (changelog
 * "Idempotency key headers for webhook requests").
 *
 * Request verification (contentful.com/developers/docs/webhooks/request-verification): headers
 * `x-contentful-signature`, `x-contentful-signed-headers`, `x-contentful-timestamp`. The signature
 * is the hex HMAC-SHA256, keyed with the signing secret, of the canonical request
 * `METHOD\nPATH\nname:value;name:value…\nBODY`: the path URI-encoded (query escaped), the signed
 * headers lower-cased and trimmed, sorted by name, `x-contentful-signed-headers` standing for the
 * sorted list of their names (contentful/node-apps-toolkit `src/requests/sign-request.ts`,
 * `verify-request.ts`, `utils.ts`). The timestamp (ms) must be recent: that is what makes a
 * captured request useless later.
 */
import querystring from 'node:querystring';
import type { WebhookConfigOf } from '../../config/invalidation-schema.js';
import type { InvalidationAction } from '../request.js';
import { checkTimestamp, hmacSha256, sameBytes } from '../signature.js';
import { header, idTag, isObject, prop, text, verifySharedSecret } from './common.js';
import { expandTemplates, type TemplateValues } from './templates.js';
import type { Verification, WebhookAdapter, WebhookMapping, WebhookRequest } from './types.js';

type Cfg = WebhookConfigOf<'contentful'>;

const SIGNATURE = 'x-contentful-signature';
const SIGNED_HEADERS = 'x-contentful-signed-headers';
const TIMESTAMP = 'x-contentful-timestamp';

const ACTIONS: Record<string, InvalidationAction> = { publish: 'Activate', unpublish: 'Delete', delete: 'Delete', archive: 'Delete' };

/** node-apps-toolkit `getNormalizedEncodedURI`. */
export function normalizedUri(uri: string): string {
  const q = uri.indexOf('?');
  const pathname = q < 0 ? uri : uri.slice(0, q);
  const search = q < 0 ? '' : uri.slice(q + 1);
  const escaped = search ? querystring.escape(search) : '';
  return encodeURI(escaped ? `${pathname}?${escaped}` : pathname);
}

/** The canonical request Contentful signs (see the module comment). */
export function canonicalRequest(req: Pick<WebhookRequest, 'method' | 'url' | 'headers' | 'body'>, signedHeaderNames: readonly string[], timestamp: string): string {
  let path = req.url;
  try {
    path = decodeURI(req.url);
  } catch {
    /* keep it as received */
  }
  const names = new Set(signedHeaderNames.map((n) => n.trim().toLowerCase()).filter(Boolean));
  const picked = new Map<string, string>();
  for (const name of names) {
    const v = header(req.headers, name);
    if (v !== undefined) picked.set(name, v.trim());
  }
  picked.set(TIMESTAMP, timestamp);
  picked.set(SIGNED_HEADERS, ''); // replaced below by the sorted list of names
  const sorted = [...picked.keys()].sort();
  picked.set(SIGNED_HEADERS, sorted.join(','));
  const headerText = sorted.map((k) => `${k}:${picked.get(k)}`).join(';');
  return [req.method.toUpperCase(), normalizedUri(path), headerText, req.body.toString('utf8')].join('\n');
}

function verifySignature(cfg: Cfg, req: WebhookRequest): Verification {
  const signature = header(req.headers, SIGNATURE);
  const signed = header(req.headers, SIGNED_HEADERS);
  const timestamp = header(req.headers, TIMESTAMP);
  if (!signature || !signed || !timestamp) return { ok: false, reason: `missing ${[!signature && SIGNATURE, !signed && SIGNED_HEADERS, !timestamp && TIMESTAMP].filter(Boolean).join(', ')}` };
  if (!/^\d+$/.test(timestamp.trim())) return { ok: false, reason: `${TIMESTAMP} is not a number` };
  const fresh = checkTimestamp(Number(timestamp.trim()), req.now, cfg.maxAgeMs);
  if (!fresh.ok) return fresh;
  if (!/^[0-9a-f]{64}$/i.test(signature.trim())) return { ok: false, reason: `${SIGNATURE} is not a hex HMAC-SHA256` };
  const expected = hmacSha256(cfg.secret, canonicalRequest(req, signed.split(','), timestamp.trim()));
  return sameBytes(Buffer.from(signature.trim(), 'hex'), expected) ? { ok: true } : { ok: false, reason: 'signature does not match the request' };
}

export const contentfulAdapter: WebhookAdapter<'contentful'> = {
  kind: 'contentful',
  verify: (cfg: Cfg, req) => (cfg.auth === 'signature' ? verifySignature(cfg, req) : verifySharedSecret(cfg, req)),

  dedupeKey(cfg, req) {
    // The idempotency key recognises Contentful's own duplicates; the signature (it covers the
    // timestamp) recognises a captured request replayed within maxAgeMs.
    const keys: string[] = [];
    const key = header(req.headers, 'x-contentful-idempotency-key');
    if (key) keys.push(`contentful:${key}`);
    const sig = header(req.headers, SIGNATURE);
    if (cfg.auth === 'signature' && sig) keys.push(`contentful-sig:${sig.trim().toLowerCase()}`);
    return keys.length ? { keys, check: true } : undefined;
  },

  map(cfg: Cfg, req, json): WebhookMapping {
    const topic = header(req.headers, 'x-contentful-topic');
    if (!topic) return { kind: 'malformed', reason: 'missing X-Contentful-Topic header' };
    const [, type, verb] = /^ContentManagement\.([A-Za-z]+)\.([A-Za-z_]+)$/.exec(topic.trim()) ?? [];
    if (!type || !verb) return { kind: 'malformed', reason: `unexpected X-Contentful-Topic ${JSON.stringify(topic)}` };
    const action = ACTIONS[verb];
    if ((type !== 'Entry' && type !== 'Asset') || !action) return { kind: 'ignore', event: topic, reason: `${type}.${verb} does not change published content` };
    const sys = prop(json, 'sys');
    if (!isObject(sys)) return { kind: 'malformed', reason: 'no sys object in the payload' };
    const id = text(sys.id);
    if (!id) return { kind: 'malformed', reason: 'no sys.id in the payload' };
    const environment = text(prop(prop(sys.environment, 'sys'), 'id'));
    if (cfg.environments && environment !== undefined && !cfg.environments.includes(environment)) {
      return { kind: 'ignore', event: topic, reason: `environment ${environment} is not one of ${cfg.environments.join(', ')}` };
    }
    const contentType = text(prop(prop(sys.contentType, 'sys'), 'id'));
    const tags = [idTag(cfg.tagPrefix, id)];
    if (cfg.typeTags && contentType) tags.push(idTag(cfg.tagPrefix, `type-${contentType}`));
    const base = { id, contentType, environment };
    const values: TemplateValues[] = [];
    const slugs = prop(prop(json, 'fields'), cfg.slugField);
    if (isObject(slugs)) for (const [locale, slug] of Object.entries(slugs)) values.push({ ...base, locale, slug: text(slug) });
    if (values.length === 0) values.push(base);
    const { paths, refused } = action === 'Activate' ? expandTemplates(cfg.paths, values) : { paths: [], refused: [] };
    return { kind: 'invalidate', event: topic, action, paths, tags, refusedPaths: refused };
  },
};
