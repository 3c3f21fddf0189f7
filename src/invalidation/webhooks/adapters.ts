/** The webhook kinds (contract section 4a; README "Webhooks from your CMS"). */
import type { WebhookConfig, WebhookKind } from '../../config/invalidation-schema.js';
import { contentfulAdapter } from './contentful.js';
import { genericAdapter } from './generic.js';
import { optimizelyGraphAdapter } from './optimizely-graph.js';
import { sanityAdapter } from './sanity.js';
import { strapiAdapter } from './strapi.js';
import type { DedupeKey, Verification, WebhookMapping, WebhookRequest } from './types.js';
import { umbracoAdapter } from './umbraco.js';

const ADAPTERS: { readonly [K in WebhookKind]: import('./types.js').WebhookAdapter<K> } = {
  umbraco: umbracoAdapter,
  contentful: contentfulAdapter,
  sanity: sanityAdapter,
  strapi: strapiAdapter,
  'optimizely-graph': optimizelyGraphAdapter,
  generic: genericAdapter,
};

/** The adapter of a configured webhook, with its config bound (one place where kinds are dispatched). */
export function adapterFor(cfg: WebhookConfig): {
  verify(req: WebhookRequest): Verification;
  dedupeKey(req: WebhookRequest, json: unknown): DedupeKey | undefined;
  map(req: WebhookRequest, json: unknown): WebhookMapping;
} {
  const a = ADAPTERS[cfg.kind] as import('./types.js').WebhookAdapter;
  return {
    verify: (req) => a.verify(cfg as never, req),
    dedupeKey: (req, json) => a.dedupeKey(cfg as never, req, json),
    map: (req, json) => a.map(cfg as never, req, json),
  };
}
