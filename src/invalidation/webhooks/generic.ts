/**
 * The generic webhook: for systems without outgoing webhooks of their own (Kentico Xperience's
 * global events, Optimizely CMS 12's `IContentEvents`, a deploy script) a small handler posts the
 * invalidation API's body (`{"paths", "tags", "action", "farms"}`) here. Authenticated like the
 * API (`X-Farmgate-Signature: sha256=<hex>` with this webhook's own secret) or, for senders that
 * can only set a static header, by a secret header. An `Idempotency-Key` header
 * (draft-ietf-httpapi-idempotency-key-header) marks retries.
 */
import type { WebhookConfigOf } from '../../config/invalidation-schema.js';
import { invalidationFrom } from '../request.js';
import { verifyBodySignature, SIGNATURE_HEADER } from '../signature.js';
import { header, isObject, verifySharedSecret } from './common.js';
import type { WebhookAdapter, WebhookMapping } from './types.js';

type Cfg = WebhookConfigOf<'generic'>;

export const genericAdapter: WebhookAdapter<'generic'> = {
  kind: 'generic',
  verify: (cfg: Cfg, req) => (cfg.auth === 'signature' ? verifyBodySignature(req.body, req.headers[SIGNATURE_HEADER], cfg.secret) : verifySharedSecret(cfg, req)),

  dedupeKey(cfg, req, json) {
    const keys: string[] = [];
    const key = header(req.headers, 'idempotency-key');
    if (key) keys.push(`generic:${key}`);
    // A signed body with a timestamp cannot be sent twice on purpose: a repeat is a replay.
    const sig = header(req.headers, SIGNATURE_HEADER);
    if (cfg.auth === 'signature' && sig && isObject(json) && json.ts !== undefined) keys.push(`generic-sig:${sig.trim().toLowerCase()}`);
    return keys.length ? { keys, check: true } : undefined;
  },

  map(cfg: Cfg, req, json): WebhookMapping {
    const parsed = invalidationFrom(json, { farmNames: req.farmNames, now: req.now });
    if (!parsed.ok) return parsed.error.status === 401 ? { kind: 'refused', reason: parsed.error.message } : { kind: 'malformed', reason: parsed.error.message };
    const inv = parsed.value;
    if (inv.farms && cfg.farms) {
      const outside = inv.farms.filter((f) => !cfg.farms!.includes(f));
      if (outside.length) return { kind: 'malformed', reason: `farms ${outside.join(', ')} are not among this webhook's farms (${cfg.farms.join(', ')})` };
    }
    const tags = cfg.tagPrefix ? inv.tags.map((t) => cfg.tagPrefix + t) : [...inv.tags];
    return { kind: 'invalidate', event: 'generic', action: inv.action, paths: inv.paths, tags, farms: inv.farms };
  },
};
