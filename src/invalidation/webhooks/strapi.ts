/**
 * Strapi webhooks.
 *
 * Strapi documentation, "Webhooks" (strapi/documentation
 * `docusaurus/docs/cms/backend-customization/webhooks.md`): a POST whose `X-Strapi-Event` header
 * names the event (`entry.create`, `entry.update`, `entry.delete`, `entry.publish`,
 * `entry.unpublish` — the last two "only when draftAndPublish is enabled" — and `media.create`,
 * `media.update`, `media.delete`); the body is `{ "event", "createdAt", "model", "entry": {…} }`
 * or `{ "event", "createdAt", "media": {…} }` (Strapi 5 adds `uid` and `entry.documentId`).
 * Strapi signs nothing; its documentation secures a webhook with a header, e.g.
 * `Authorization: Bearer <token>` in `webhooks.defaultHeaders`. It does not retry.
 *
 * Mapping: tag `strapi-<model>-<documentId or id>`, media `strapi-media-<id>`. With
 * `draftAndPublish` (Strapi 5's default), saving a draft (`entry.create`/`entry.update`) does
 * not change the site and is ignored.
 */
import type { WebhookConfigOf } from '../../config/invalidation-schema.js';
import type { InvalidationAction } from '../request.js';
import { header, idTag, isObject, prop, text, verifySharedSecret } from './common.js';
import { expandTemplates } from './templates.js';
import type { WebhookAdapter, WebhookMapping } from './types.js';

type Cfg = WebhookConfigOf<'strapi'>;

export const strapiAdapter: WebhookAdapter<'strapi'> = {
  kind: 'strapi',
  verify: (cfg: Cfg, req) => verifySharedSecret(cfg, req),
  dedupeKey: () => undefined,

  map(cfg: Cfg, req, json): WebhookMapping {
    if (!isObject(json)) return { kind: 'malformed', reason: 'body is not a JSON object' };
    const event = (header(req.headers, 'x-strapi-event') ?? text(json.event) ?? '').trim();
    if (!event) return { kind: 'malformed', reason: 'no X-Strapi-Event header and no event in the body' };
    const [subject, verb] = event.split('.');
    if (subject === 'entry') return mapEntry(cfg, event, verb ?? '', json);
    if (subject === 'media') return mapMedia(cfg, event, verb ?? '', json);
    return { kind: 'ignore', event, reason: 'not an entry or media event' };
  },
};

function entryAction(cfg: Cfg, verb: string): InvalidationAction | undefined {
  if (verb === 'publish') return 'Activate';
  if (verb === 'unpublish' || verb === 'delete') return 'Delete';
  if ((verb === 'create' || verb === 'update') && !cfg.draftAndPublish) return 'Activate';
  return undefined;
}

function mapEntry(cfg: Cfg, event: string, verb: string, json: Record<string, unknown>): WebhookMapping {
  const action = entryAction(cfg, verb);
  if (!action) return { kind: 'ignore', event, reason: cfg.draftAndPublish ? 'a draft change (draftAndPublish: true)' : `unknown entry event ${verb}` };
  const model = text(json.model);
  const entry = json.entry;
  if (!model || !isObject(entry)) return { kind: 'malformed', reason: 'an entry event needs "model" and "entry"' };
  const documentId = text(entry.documentId);
  const id = documentId ?? text(entry.id);
  if (!id) return { kind: 'malformed', reason: 'the entry has no documentId or id' };
  const tags = [idTag(cfg.tagPrefix, `${model}-${id}`)];
  if (cfg.typeTags) tags.push(idTag(cfg.tagPrefix, `type-${model}`));
  const values = [{ id: text(entry.id), documentId, model, slug: text(entry.slug), locale: text(entry.locale) }];
  const { paths, refused } = action === 'Activate' ? expandTemplates(cfg.paths, values) : { paths: [], refused: [] };
  return { kind: 'invalidate', event, action, paths, tags, refusedPaths: refused };
}

function mapMedia(cfg: Cfg, event: string, verb: string, json: Record<string, unknown>): WebhookMapping {
  // A new upload is on no page yet; a replaced or deleted one is.
  const action: InvalidationAction | undefined = verb === 'update' ? 'Activate' : verb === 'delete' ? 'Delete' : undefined;
  if (!action) return { kind: 'ignore', event, reason: 'a new upload is not on any page yet' };
  const media = json.media;
  const id = text(prop(media, 'id'));
  if (!isObject(media) || !id) return { kind: 'malformed', reason: 'a media event needs "media" with an id' };
  const tags = [idTag(cfg.tagPrefix, `media-${id}`)];
  const { paths, refused } = expandTemplates(cfg.paths, [{ id, model: 'media', url: text(media.url) }]);
  return { kind: 'invalidate', event, action, paths, tags, refusedPaths: refused };
}
