/**
 * The config schema: the one home of defaults (contract section 2).
 *
 * Strict objects everywhere, so a typo in YAML is an error, never a silent default.
 * Durations are milliseconds and say so in their names (`...Ms`).
 */
import picomatch from 'picomatch';
import { isIP } from 'node:net';
import { z } from 'zod';
import { invalidationProblems, invalidationSchema } from './invalidation-schema.js';
import { regexProblem } from './regex-subset.js';

/** A micromatch/picomatch glob that compiles with balanced brackets, braces and parens. */
export function globProblem(glob: string): string | undefined {
  if (glob.length === 0) return 'expected a non-empty glob';
  try {
    picomatch.makeRe(glob, { dot: true, strictBrackets: true });
  } catch (err) {
    return `invalid glob ${JSON.stringify(glob)}: ${(err as Error).message}`;
  }
  return undefined;
}

/** A non-empty glob (virtualhosts, flushRoutes). */
const glob = z.string().superRefine((value, ctx) => {
  const problem = globProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const pathGlob = glob.refine((value) => value.startsWith('/') || value.startsWith('*'), {
  message: 'expected a path glob starting with "/" (or "*")',
});

/** A glob item of a rule value: the empty string is allowed and matches only an empty value. */
const valueGlob = z.string().superRefine((value, ctx) => {
  const problem = value === '' ? undefined : globProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `{ regex: "..." }`: a whole-value regular expression in the JavaScript/PCRE subset. */
const regexValue = z.strictObject({
  regex: z.string().superRefine((value, ctx) => {
    const problem = regexProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
});

const VALUE_SHAPE = 'expected a glob, a list of globs, or { regex: "..." }';

/**
 * A rule value (contract section 2): a glob, a list (any of its items), or `{ regex: "..." }`,
 * which must match the whole value. `globItem` narrows the glob items (path globs start with "/").
 */
function ruleValue(globItem: z.ZodType<string>) {
  const atom = z.union([globItem, regexValue], { error: VALUE_SHAPE });
  return z.union([atom, z.array(atom).min(1)], { error: VALUE_SHAPE });
}

const pathValueGlob = z.string().superRefine((value, ctx) => {
  if (!value.startsWith('/') && !value.startsWith('*')) {
    ctx.addIssue({ code: 'custom', message: 'expected a path glob starting with "/" (or "*")' });
    return;
  }
  const problem = globProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const pathValue = ruleValue(pathValueGlob);
const plainValue = ruleValue(valueGlob);
const methodValue = ruleValue(
  valueGlob.refine((v) => /^[A-Za-z*?[\]|!]+$/.test(v), { message: 'expected an HTTP method or method glob' }),
);

/** An IPv4/IPv6 address or CIDR block. */
export function cidrProblem(value: string): string | undefined {
  const [addr, bits, extra] = value.split('/');
  if (extra !== undefined || !addr) return `expected an IP address or CIDR, got ${JSON.stringify(value)}`;
  const family = isIP(addr);
  if (family === 0) return `expected an IP address or CIDR, got ${JSON.stringify(value)}`;
  if (bits !== undefined) {
    const n = Number(bits);
    const max = family === 4 ? 32 : 128;
    if (!/^\d+$/.test(bits) || n > max) return `invalid prefix length in ${JSON.stringify(value)} (0-${max})`;
  }
  return undefined;
}

const cidr = z.string().superRefine((value, ctx) => {
  const problem = cidrProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `host:port`, `[v6]:port` or a bare port. */
const listenAddress = z.string().regex(/^(?:(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?\d{1,5}$/, {
  message: 'expected "host:port", e.g. "127.0.0.1:8080"',
});

const positiveMs = z.number().int().nonnegative();

/** A rule list item: exactly one of `allow: X` or `deny: X`. */
function ruleItem<T extends z.ZodType>(value: T) {
  return z
    .strictObject({ allow: value.optional(), deny: value.optional() })
    .superRefine((item, ctx) => {
      const keys = (['allow', 'deny'] as const).filter((k) => item[k] !== undefined);
      if (keys.length !== 1) {
        ctx.addIssue({ code: 'custom', message: 'expected exactly one of "allow" or "deny"' });
      }
    });
}


/** Filter rule: every given key must match (AND). */
const filterMatch = z
  .strictObject({
    url: pathValue.optional(),
    method: methodValue.optional(),
    path: pathValue.optional(),
    extension: plainValue.optional(),
    selectors: plainValue.optional(),
    suffix: plainValue.optional(),
    query: plainValue.optional(),
  })
  .refine((m) => Object.values(m).some((v) => v !== undefined), {
    message: 'expected at least one of url, method, path, extension, selectors, suffix, query',
  });

const renderSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  /** TCP connect; past it the render counts as unreachable (skipped for retryDelayMs). */
  connectTimeoutMs: z.number().int().min(1).default(2000),
  /** To the response headers, and the longest gap between body bytes. */
  timeoutMs: positiveMs.default(10_000),
});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const DEFAULT_HEADERS = [
  'Content-Type',
  'Cache-Control',
  'Expires',
  'Last-Modified',
  'ETag',
  'Content-Disposition',
] as const;

const cacheSchema = z.strictObject({
  rules: z.array(ruleItem(pathValue)).default([{ allow: '/**' }]),
  statfileslevel: z.number().int().min(0).max(64).default(0),
  invalidate: z.array(ruleItem(pathValue)).default([{ deny: '/**' }, { allow: '/**/*.html' }]),
  ignoreUrlParams: z.array(ruleItem(plainValue)).default([]),
  headers: z.array(z.string().regex(HEADER_NAME, { message: 'expected an HTTP header name' })).default([...DEFAULT_HEADERS]),
  gracePeriodMs: positiveMs.default(0),
  enableTTL: z.boolean().default(false),
  serveStaleOnError: z.boolean().default(false),
  allowAuthorized: z.boolean().default(false),
  statCheckIntervalMs: z.number().int().min(1).default(1000),
  /** Render response headers whose values tag the stored file (contract section 4a). */
  tagHeaders: z.array(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: 'expected an HTTP header name' })).default(['Surrogate-Key', 'xkey', 'Cache-Tag']),
  /** Pass the tag headers on to clients (they are hidden by default). */
  exposeTags: z.boolean().default(false),
});

const farmSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/, { message: 'expected [a-z0-9-]+' }),
  virtualhosts: z.array(glob).min(1),
  docroot: z.string().min(1),
  renders: z.array(renderSchema).min(1),
  retryDelayMs: positiveMs.default(1000),
  /** Request headers passed to the render (case-insensitive names; "*" = all but hop-by-hop). */
  clientHeaders: z
    .array(z.string().refine((v) => v === '*' || HEADER_NAME.test(v), { message: 'expected a header name or "*"' }))
    .default(['*']),
  filter: z.array(ruleItem(filterMatch)).optional(),
  cache: cacheSchema.default(() => cacheSchema.parse({})),
  flushRoutes: z.array(pathGlob).default([]),
});

const limitsSchema = z.strictObject({
  headerBytes: z.number().int().min(1024).default(16_384),
  urlBytes: z.number().int().min(64).default(4096),
  flushBodyBytes: z.number().int().min(0).default(1_048_576),
  refetchUris: z.number().int().min(0).default(1000),
  headersTimeoutMs: z.number().int().min(1).default(30_000),
});

const memorySchema = z.strictObject({
  /** Total bytes of recently served bodies kept in memory, across farms. 0 turns the hot layer off. */
  maxBytes: z.number().int().min(0).default(64 * 1024 * 1024),
  /** Bodies larger than this are always streamed from disk. */
  maxEntryBytes: z.number().int().min(0).default(1024 * 1024),
});

const serverSchema = z.strictObject({
  listen: listenAddress.default('127.0.0.1:8080'),
  admin: listenAddress.optional(),
  adminToken: z.string().min(1).optional(),
  trustedProxies: z.array(cidr).default(['127.0.0.1', '::1']),
  limits: limitsSchema.default(() => limitsSchema.parse({})),
  memory: memorySchema.default(() => memorySchema.parse({})),
  /**
   * Opt-in, behind nginx only: a fresh HIT asked for by nginx (request header
   * `X-Farmgate-Accel: 1` from a trusted proxy) is answered with its headers and
   * `X-Accel-Redirect: PREFIX/FARM/DOCPATH`, and nginx sends the file from an internal location
   * on the docroot (nginx/README.md). Off when absent.
   */
  accelRedirect: z
    .strictObject({
      prefix: z.string().regex(/^(?:\/[A-Za-z0-9._~-]+)+$/, { message: 'expected an absolute path like "/_farmgate_docroot", without a trailing slash' }),
    })
    .optional(),
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, { message: 'expected a server name of [A-Za-z0-9._-]' }).optional(),
  stateDir: z.string().min(1).optional(),
});

/** `flush.allowedClients` when not set: loopback only. With it, the invalidation API trusts its signature alone. */
export const DEFAULT_ALLOWED_CLIENTS = ['127.0.0.1', '::1'] as const;

const flushSchema = z.strictObject({
  path: z.string().regex(/^\/[^?#\s]*$/, { message: 'expected an absolute path' }).default('/dispatcher/invalidate.cache'),
  allowedClients: z.array(cidr).default([...DEFAULT_ALLOWED_CLIENTS]),
  unrouted: z.enum(['ignore', 'reject']).default('ignore'),
});

/** `redis://[user:password@]host[:port][/db]` or `rediss://…`, as ioredis reads it (WHATWG URL). */
export function redisUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `expected a redis:// URL like "redis://127.0.0.1:6379", got ${JSON.stringify(value)}`;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return `expected a redis:// or rediss:// URL, got ${JSON.stringify(value)}`;
  if (!url.hostname) return `the redis URL ${JSON.stringify(value)} names no host`;
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d+$/.test(url.pathname)) {
    return `the redis URL path must be a database number ("/0"), got ${JSON.stringify(url.pathname)}`;
  }
  return undefined;
}

const redisUrl = z.string().superRefine((value, ctx) => {
  const problem = redisUrlProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const propagationSchema = z
  .strictObject({
    mode: z.enum(['off', 'redis']).default('off'),
    redis: z
      .strictObject({
        url: redisUrl.default('redis://127.0.0.1:6379'),
        stream: z.string().min(1).default('farmgate:flushes'),
        retentionMs: z.number().int().min(1000).default(86_400_000),
      })
      .default(() => ({ url: 'redis://127.0.0.1:6379', stream: 'farmgate:flushes', retentionMs: 86_400_000 })),
    secret: z.string().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.mode === 'redis' && (!p.secret || p.secret.length < 16)) {
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message: 'propagation.mode redis needs a secret of at least 16 characters',
      });
    }
  });

export const configSchema = z
  .strictObject({
    server: serverSchema.default(() => serverSchema.parse({})),
    flush: flushSchema.default(() => flushSchema.parse({})),
    farms: z.array(farmSchema).min(1),
    propagation: propagationSchema.default(() => propagationSchema.parse({})),
    invalidation: invalidationSchema.default(() => invalidationSchema.parse({})),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.farms.forEach((farm, i) => {
      const first = seen.get(farm.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['farms', i, 'name'],
          message: `duplicate farm name "${farm.name}" (also farms.${first}.name)`,
        });
      } else seen.set(farm.name, i);
    });
    for (const p of invalidationProblems(cfg.invalidation, cfg.farms.map((f) => f.name), cfg.flush.path)) {
      ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
    }
  });

export type RawConfig = z.output<typeof configSchema>;
export type RawFarm = z.output<typeof farmSchema>;
export type RuleItem<T> = { allow?: T; deny?: T };
export type FilterMatch = z.output<typeof filterMatch>;
