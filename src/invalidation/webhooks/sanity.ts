/**
 * Sanity GROQ-powered webhooks.
 *
 * Signature (sanity-io/webhook-toolkit `src/signature.ts`, the `@sanity/webhook` package):
 * header `sanity-webhook-signature: t=<ms>,v1=<signature>`, the signature being the base64url
 * HMAC-SHA256, keyed with the webhook's secret, of `<t>.<body>` (the body exactly as received);
 * timestamps are milliseconds. Headers sent with every delivery: `sanity-operation`
 * (`create` | `update` | `delete`), `sanity-document-id`, `sanity-dataset`, `sanity-project-id`,
 * `sanity-transaction-id`, `sanity-transaction-time`, `sanity-webhook-id` and `idempotency-key`,
 * the same on a redelivery (sanity.io/docs/webhook-best-practices: "Idempotence"). The body is
 * whatever the webhook's GROQ projection yields, by default the document (`_id`, `_type`, `slug`).
 *
 * Mapping: tag `sanity-<document id>`; drafts (`drafts.` ids) and release versions (`versions.`)
 * do not change the published site and are ignored.
 */
import type { WebhookConfigOf } from '../../config/invalidation-schema.js';
import { checkTimestamp, hmacSha256, sameBytes } from '../signature.js';
import { header, idTag, prop, text } from './common.js';
import { expandTemplates } from './templates.js';
import type { Verification, WebhookAdapter, WebhookMapping, WebhookRequest } from './types.js';

type Cfg = WebhookConfigOf<'sanity'>;

const SIGNATURE_HEADER = 'sanity-webhook-signature';
/** The toolkit's own pattern for the header. */
const SIGNATURE_FORMAT = /^t=(\d+)[, ]+v1=([^, ]+)$/;

export function sanitySignature(body: Buffer, timestamp: number, secret: string): string {
  return hmacSha256(secret, Buffer.concat([Buffer.from(`${timestamp}.`), body])).toString('base64url');
}

function verify(cfg: Cfg, req: WebhookRequest): Verification {
  const raw = header(req.headers, SIGNATURE_HEADER);
  if (!raw) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  const m = SIGNATURE_FORMAT.exec(raw.trim());
  if (!m) return { ok: false, reason: `${SIGNATURE_HEADER} is not t=<timestamp>,v1=<signature>` };
  const t = Number(m[1]);
  const fresh = checkTimestamp(t, req.now, cfg.maxAgeMs);
  if (!fresh.ok) return fresh;
  const expected = Buffer.from(sanitySignature(req.body, t, cfg.secret));
  return sameBytes(Buffer.from(m[2]!), expected) ? { ok: true } : { ok: false, reason: 'signature does not match the body' };
}

export const sanityAdapter: WebhookAdapter<'sanity'> = {
  kind: 'sanity',
  verify,

  dedupeKey(_cfg, req) {
    // The idempotency key recognises a redelivery; the signature (it covers the timestamp) a
    // captured request replayed within maxAgeMs, whatever idempotency key it is given.
    const keys: string[] = [];
    const key = header(req.headers, 'idempotency-key');
    if (key) keys.push(`sanity:${key}`);
    const sig = header(req.headers, SIGNATURE_HEADER);
    if (sig) keys.push(`sanity-sig:${sig.trim()}`);
    return keys.length ? { keys, check: true } : undefined;
  },

  map(cfg: Cfg, req, json): WebhookMapping {
    const operation = (header(req.headers, 'sanity-operation') ?? 'update').trim().toLowerCase();
    const event = `sanity.${operation}`;
    if (!['create', 'update', 'delete'].includes(operation)) return { kind: 'ignore', event, reason: `unknown operation ${operation}` };
    const id = text(header(req.headers, 'sanity-document-id')) ?? text(prop(json, '_id'));
    if (!id) return { kind: 'malformed', reason: 'no sanity-document-id header and no _id in the body' };
    if (id.startsWith('drafts.') || id.startsWith('versions.')) return { kind: 'ignore', event, reason: `${id} is a draft, not published content` };
    const type = text(prop(json, '_type'));
    const rawSlug = prop(json, 'slug');
    const slug = text(rawSlug) ?? text(prop(rawSlug, 'current'));
    const tags = [idTag(cfg.tagPrefix, id)];
    if (cfg.typeTags && type) tags.push(idTag(cfg.tagPrefix, `type-${type}`));
    const action = operation === 'delete' ? 'Delete' : 'Activate';
    const values = [{ id, type, slug, dataset: header(req.headers, 'sanity-dataset') }];
    // A deleted document's projection may still carry its slug (before()), so paths apply to every operation.
    const { paths, refused } = expandTemplates(cfg.paths, values);
    return { kind: 'invalidate', event, action, paths, tags, refusedPaths: refused };
  },
};
