/**
 * The `invalidation` block of the config (contract sections 2 and 4a): the signed JSON
 * invalidation API and the CMS webhooks. Imported by schema.ts, the one home of defaults; kept in
 * its own file because it is a concept of its own (and so its edits stay out of the farm rules).
 *
 * Webhook kinds and their keys (README "Webhooks from your CMS"):
 *
 * | kind | auth (default first) | extra keys |
 * |---|---|---|
 * | umbraco | header, path | |
 * | contentful | signature, header, path | environments, slugField |
 * | sanity | signature | |
 * | strapi | header, path | draftAndPublish |
 * | optimizely-graph | header, path | statuses |
 * | generic | signature, header | |
 *
 * Every kind has `name`, `secret`, `farms`, `paths` (templates for all but generic), `tagPrefix`,
 * `typeTags`, and `maxAgeMs` (kinds with signed timestamps), `header` (for `auth: header`).
 */
import { z } from 'zod';
import { tagProblem } from '../tags/parse.js';

/** HMAC keys and shared secrets: long enough not to be guessed. */
const secret = z.string().min(16, { message: 'expected a secret of at least 16 characters' });

const absolutePath = z.string().regex(/^\/[^?#\s]*$/, { message: 'expected an absolute path' });

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: 'expected an HTTP header name' });

const tagPrefix = z.string().refine((p) => p === '' || tagProblem(p) === undefined, { message: 'a tag prefix cannot contain spaces, commas or control characters' });

/** Placeholders each kind fills in its `paths` templates. */
export const TEMPLATE_VARIABLES: Readonly<Record<WebhookKind, readonly string[]>> = {
  umbraco: ['id', 'path', 'startItem', 'culture', 'contentType'],
  contentful: ['id', 'contentType', 'environment', 'locale', 'slug'],
  sanity: ['id', 'type', 'slug', 'dataset'],
  strapi: ['id', 'documentId', 'model', 'slug', 'locale', 'url'],
  'optimizely-graph': ['id', 'lang'],
  generic: [],
};

export const WEBHOOK_KINDS = ['umbraco', 'contentful', 'sanity', 'strapi', 'optimizely-graph', 'generic'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

/** `/content/site-a{path}`: an absolute path with `{name}` placeholders. */
const pathTemplate = z.string().regex(/^\/[^?#\s]*$/, { message: 'expected an absolute path template like "/content/site-a{path}"' });

/** Five minutes: a signed request older than this (or dated in the future) is refused. */
export const DEFAULT_MAX_AGE_MS = 300_000;

function common<K extends WebhookKind, A extends readonly [string, ...string[]]>(kind: K, auth: A, defaults: { tagPrefix: string; header: string }) {
  return {
    name: z.string().regex(/^[a-z0-9-]+$/, { message: 'expected [a-z0-9-]+' }),
    kind: z.literal(kind),
    secret,
    auth: z.enum(auth).default(auth[0] as A[number]),
    /** The request header holding the secret, for `auth: header`. */
    header: headerName.default(defaults.header),
    /** Only these farms are invalidated (default: every farm). */
    farms: z.array(z.string().min(1)).min(1).optional(),
    paths: z.array(pathTemplate).default([]),
    tagPrefix: tagPrefix.default(defaults.tagPrefix),
    /** Also invalidate `<prefix>type-<content type>` (list pages that show every item of a type). */
    typeTags: z.boolean().default(false),
  };
}

const maxAgeMs = z.number().int().min(1000).default(DEFAULT_MAX_AGE_MS);

const umbraco = z.strictObject({ ...common('umbraco', ['header', 'path'], { tagPrefix: 'umb-', header: 'X-Farmgate-Secret' }) });
const contentful = z.strictObject({
  ...common('contentful', ['signature', 'header', 'path'], { tagPrefix: 'contentful-', header: 'X-Farmgate-Secret' }),
  maxAgeMs,
  /** Only these Contentful environments (default: any). */
  environments: z.array(z.string().min(1)).min(1).optional(),
  /** The entry field whose (per-locale) value fills `{slug}`. */
  slugField: z.string().min(1).default('slug'),
});
const sanity = z.strictObject({ ...common('sanity', ['signature'], { tagPrefix: 'sanity-', header: 'X-Farmgate-Secret' }), maxAgeMs });
const strapi = z.strictObject({
  ...common('strapi', ['header', 'path'], { tagPrefix: 'strapi-', header: 'Authorization' }),
  /** With draft & publish (Strapi 5's default), only publish, unpublish and delete change the site. */
  draftAndPublish: z.boolean().default(true),
});
const optimizelyGraph = z.strictObject({
  ...common('optimizely-graph', ['header', 'path'], { tagPrefix: 'opti-', header: 'X-Farmgate-Secret' }),
  /** The `<status>` part of a `docId` (`<GUID>_<lang>_<status>`) that changes the site. */
  statuses: z.array(z.string().min(1)).min(1).default(['Published']),
});
const generic = z.strictObject({
  ...common('generic', ['signature', 'header'], { tagPrefix: '', header: 'X-Farmgate-Secret' }),
  maxAgeMs,
});

export const webhookSchema = z.discriminatedUnion('kind', [umbraco, contentful, sanity, strapi, optimizelyGraph, generic]);

export const invalidationSchema = z.strictObject({
  /** The signed JSON API; omit the block = off. */
  api: z
    .strictObject({
      path: absolutePath.default('/farmgate/v1/invalidate'),
      secret,
    })
    .optional(),
  webhooks: z.array(webhookSchema).default([]),
});

export type InvalidationConfig = z.output<typeof invalidationSchema>;
export type WebhookConfig = z.output<typeof webhookSchema>;
export type WebhookConfigOf<K extends WebhookKind> = Extract<WebhookConfig, { kind: K }>;

/** Where webhooks are received; `{name}` follows. */
export const WEBHOOK_PREFIX = '/farmgate/v1/webhooks/';

export interface InvalidationProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * Checks that need the rest of the config: webhook names unique, farms that exist, templates
 * that use only their kind's placeholders, endpoint paths that do not collide.
 */
export function invalidationProblems(inv: InvalidationConfig, farmNames: readonly string[], flushPath: string): InvalidationProblem[] {
  const problems: InvalidationProblem[] = [];
  const farms = new Set(farmNames);
  if (inv.api) {
    if (inv.api.path === flushPath) problems.push({ path: ['invalidation', 'api', 'path'], message: `the same path as flush.path (${flushPath})` });
    if (inv.api.path.startsWith(WEBHOOK_PREFIX)) problems.push({ path: ['invalidation', 'api', 'path'], message: `must not be under ${WEBHOOK_PREFIX}` });
  }
  const seen = new Map<string, number>();
  inv.webhooks.forEach((hook, i) => {
    const at = (...rest: (string | number)[]) => ['invalidation', 'webhooks', i, ...rest];
    const first = seen.get(hook.name);
    if (first !== undefined) problems.push({ path: at('name'), message: `duplicate webhook name "${hook.name}" (also invalidation.webhooks.${first}.name)` });
    else seen.set(hook.name, i);
    hook.farms?.forEach((f, j) => {
      if (!farms.has(f)) problems.push({ path: at('farms', j), message: `no farm named "${f}" (farms: ${farmNames.join(', ')})` });
    });
    const allowed = TEMPLATE_VARIABLES[hook.kind];
    hook.paths.forEach((template, j) => {
      if (hook.kind === 'generic') {
        problems.push({ path: at('paths', j), message: 'a generic webhook names its paths in its body; paths templates are for CMS kinds' });
        return;
      }
      for (const m of template.matchAll(/\{([^}]*)\}/g)) {
        if (!allowed.includes(m[1]!)) {
          problems.push({ path: at('paths', j), message: `unknown placeholder {${m[1]}} for kind ${hook.kind} (expected ${allowed.map((v) => `{${v}}`).join(', ')})` });
        }
      }
      if (/[{}]/.test(template.replace(/\{[^{}]*\}/g, ''))) problems.push({ path: at('paths', j), message: 'unbalanced { } in template' });
    });
  });
  return problems;
}
