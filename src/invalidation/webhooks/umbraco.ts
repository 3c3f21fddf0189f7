/**
 * Umbraco (13 and later) built-in webhooks.
 *
 * Umbraco docs, "Webhooks" (umbraco/UmbracoDocs `13/umbraco-cms/reference/webhooks/README.md`,
 * `16/…/webhooks/README.md`): events Content Published / Unpublished / Deleted, Media Deleted /
 * Saved; headers `umb-webhook-event: Umbraco.ContentPublish` (v16 docs also show
 * `Umbraco.ContentPublished`), `umb-webhook-retrycount: {n}`, `user-agent: Umbraco-Cms/{version}`;
 * custom headers can be added per webhook (our secret: Umbraco signs nothing). Published content
 * is sent as the Content Delivery API shape (`{ "Name", "Route": { "Path", "StartItem": { "Id",
 * "Path" } }, "Id", "ContentType", … }`, camelCase from v14, umbraco/UmbracoDocs#7137); "Content
 * deleted does not send the entire content as json, instead it sends just the Id". Retries: a
 * queue, `MaximumRetries` 5 every `Period` 00:00:10 by default.
 *
 * Mapping: every event tags `umb-<id>` (the content's GUID, lower-case), so unpublish and delete,
 * which carry only the id, still reach every page that rendered the item; publish also fills the
 * `paths` templates with `{path}` (route path), `{startItem}`, `{culture}`, `{contentType}`, `{id}`.
 */
import type { WebhookConfigOf } from '../../config/invalidation-schema.js';
import type { InvalidationAction } from '../request.js';
import { header, idTag, isObject, prop, sha256, text, verifySharedSecret } from './common.js';
import { expandTemplates, type TemplateValues } from './templates.js';
import type { WebhookAdapter, WebhookMapping } from './types.js';

type Cfg = WebhookConfigOf<'umbraco'>;

/** `Umbraco.ContentPublish` / `Umbraco.ContentPublished` → subject + verb. */
const EVENTS: Record<string, { subject: 'content' | 'media'; action: InvalidationAction }> = {
  contentpublish: { subject: 'content', action: 'Activate' },
  contentunpublish: { subject: 'content', action: 'Delete' },
  contentdelete: { subject: 'content', action: 'Delete' },
  mediasave: { subject: 'media', action: 'Activate' },
  mediadelete: { subject: 'media', action: 'Delete' },
};

function knownEvent(raw: string): (typeof EVENTS)[string] | undefined {
  const k = raw.trim().replace(/^Umbraco\./i, '').toLowerCase();
  return EVENTS[k] ?? (k.endsWith('ed') ? EVENTS[k.slice(0, -2)] : undefined) ?? (k.endsWith('d') ? EVENTS[k.slice(0, -1)] : undefined);
}

export const umbracoAdapter: WebhookAdapter<'umbraco'> = {
  kind: 'umbraco',
  verify: (cfg: Cfg, req) => verifySharedSecret(cfg, req),

  dedupeKey(_cfg, req) {
    // Umbraco sends no event id; a retry repeats the same body with a higher retry count. The
    // first attempt records its key; only retries are checked against it (an unpublish sent
    // again tomorrow, identical body, is a new event).
    const event = header(req.headers, 'umb-webhook-event') ?? '';
    const retries = Number(header(req.headers, 'umb-webhook-retrycount') ?? '0');
    return { keys: [`umbraco:${event}:${sha256(req.body)}`], check: Number.isFinite(retries) && retries > 0 };
  },

  map(cfg: Cfg, req, json): WebhookMapping {
    const event = header(req.headers, 'umb-webhook-event');
    if (!event) return { kind: 'malformed', reason: 'missing umb-webhook-event header' };
    const known = knownEvent(event);
    if (!known) return { kind: 'ignore', event, reason: 'not a content or media change' };
    if (!isObject(json)) return { kind: 'malformed', reason: 'body is not a JSON object' };
    const id = text(prop(json, 'id') ?? prop(json, 'key'));
    if (!id) return { kind: 'malformed', reason: 'no Id in the payload' };
    const tags = [idTag(cfg.tagPrefix, id.toLowerCase())];
    const contentType = text(prop(json, 'contentType'));
    if (cfg.typeTags && contentType) tags.push(idTag(cfg.tagPrefix, `type-${contentType}`));
    const values = routeValues(json, id.toLowerCase(), contentType);
    const { paths, refused } = known.action === 'Activate' ? expandTemplates(cfg.paths, values) : { paths: [], refused: [] };
    return { kind: 'invalidate', event, action: known.action, paths, tags, refusedPaths: refused };
  },
};

/** One value set per route: `Route`, or one per culture under `Cultures` (variant content). */
function routeValues(json: Record<string, unknown>, id: string, contentType: string | undefined): TemplateValues[] {
  const base = { id, contentType };
  const out: TemplateValues[] = [];
  const route = prop(json, 'route');
  if (isObject(route)) out.push({ ...base, path: text(prop(route, 'path')), startItem: text(prop(prop(route, 'startItem'), 'path')) });
  const cultures = prop(json, 'cultures');
  if (isObject(cultures)) {
    for (const [culture, c] of Object.entries(cultures)) {
      const r = isObject(prop(c, 'route')) ? prop(c, 'route') : c;
      out.push({ ...base, culture, path: text(prop(r, 'path')), startItem: text(prop(prop(r, 'startItem'), 'path')) });
    }
  }
  return out.length > 0 ? out : [base];
}
