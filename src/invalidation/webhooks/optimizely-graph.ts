/**
 * Optimizely Graph webhooks (Optimizely CMS 12/13 content synced to Graph).
 *
 * Optimizely developer docs, "Webhooks" and "Webhook response" (docs.developers.optimizely.com/
 * platform-optimizely/docs/webhooks, …/webhook-response): every event is
 * `{ "id", "timestamp", "tenantId", "type": { "subject", "action" }, "data": {…} }`.
 * A document event (`doc.updated`, `doc.expired`, …) has `data.docId`; a sync chunk is
 * `bulk.completed` with `data.journalId` and `data.items`, a map from document id to `"indexed"`
 * or `"deleted"`. A document id is `<content GUID>_<language>_<status>`, e.g.
 * `e7840ee3-3900-4c35-bc9a-9d69bf7b29af_fi_Published`. A webhook is registered with a `request`
 * object that may carry headers (…/docs/manage-webhooks): that is where our secret goes; Graph
 * signs nothing.
 *
 * Mapping: tag `opti-<GUID>` (lower-case) for every document of a configured status (default
 * `Published`; drafts do not change the site), so the render tags each page with the GUIDs of the
 * content it shows.
 */
import type { WebhookConfigOf } from '../../config/invalidation-schema.js';
import type { InvalidationAction } from '../request.js';
import { idTag, isObject, prop, text, verifySharedSecret } from './common.js';
import { expandTemplates, type TemplateValues } from './templates.js';
import type { WebhookAdapter, WebhookMapping } from './types.js';

type Cfg = WebhookConfigOf<'optimizely-graph'>;

const GUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** `<GUID>_<lang>_<status>` → parts; the language may itself hold `_`-free tags like `pt-BR`. */
export function parseDocId(docId: string): { guid: string; lang: string; status: string } | undefined {
  const first = docId.indexOf('_');
  const last = docId.lastIndexOf('_');
  if (first <= 0 || last <= first) return undefined;
  const guid = docId.slice(0, first);
  if (!GUID.test(guid)) return undefined;
  return { guid: guid.toLowerCase(), lang: docId.slice(first + 1, last), status: docId.slice(last + 1) };
}

export const optimizelyGraphAdapter: WebhookAdapter<'optimizely-graph'> = {
  kind: 'optimizely-graph',
  verify: (cfg: Cfg, req) => verifySharedSecret(cfg, req),

  dedupeKey(_cfg, _req, json) {
    const id = text(prop(json, 'id'));
    return id ? { keys: [`optimizely-graph:${id}`], check: true } : undefined;
  },

  map(cfg: Cfg, _req, json): WebhookMapping {
    const type = prop(json, 'type');
    const subject = text(prop(type, 'subject'));
    const verb = text(prop(type, 'action'));
    if (!subject || !verb) return { kind: 'malformed', reason: 'no type.subject and type.action' };
    const event = `${subject}.${verb}`;
    const data = prop(json, 'data');
    let docs: { docId: string; removed: boolean }[];
    if (subject === 'doc') {
      const docId = text(prop(data, 'docId'));
      if (!docId) return { kind: 'malformed', reason: `${event} without data.docId` };
      docs = [{ docId, removed: /^(deleted|expired|removed)$/i.test(verb) }];
    } else if (subject === 'bulk') {
      const items = prop(data, 'items');
      if (!isObject(items)) return { kind: 'ignore', event, reason: 'a bulk event without items names no content' };
      docs = Object.entries(items).map(([docId, state]) => ({ docId, removed: String(state).toLowerCase() === 'deleted' }));
    } else {
      return { kind: 'ignore', event, reason: 'not a document or bulk event' };
    }
    const tags = new Set<string>();
    const values: TemplateValues[] = [];
    let skipped = 0;
    for (const d of docs) {
      const parts = parseDocId(d.docId);
      if (!parts || !cfg.statuses.includes(parts.status)) {
        skipped++;
        continue;
      }
      tags.add(idTag(cfg.tagPrefix, parts.guid));
      values.push({ id: parts.guid, lang: parts.lang });
    }
    if (tags.size === 0) return { kind: 'ignore', event, reason: `no document with status ${cfg.statuses.join(' or ')} (${skipped} skipped)` };
    const action: InvalidationAction = docs.every((d) => d.removed) ? 'Delete' : 'Activate';
    const { paths, refused } = expandTemplates(cfg.paths, values);
    return { kind: 'invalidate', event, action, paths, tags: [...tags], refusedPaths: refused };
  },
};
