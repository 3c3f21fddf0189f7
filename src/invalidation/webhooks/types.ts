/**
 * What every webhook adapter is: three pure functions of the received request (no I/O, no
 * clock of their own), so each CMS's behaviour is tested with the payloads its documentation
 * shows. handler.ts does the reading, answering and applying.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { WebhookConfigOf, WebhookKind } from '../../config/invalidation-schema.js';
import type { InvalidationAction } from '../request.js';

export interface WebhookRequest {
  readonly method: string;
  /** The request path and query as received (`/farmgate/v1/webhooks/name`). */
  readonly url: string;
  /** Lower-case names, as node gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The exact bytes received. */
  readonly body: Buffer;
  /** The path segment after the name (`auth: path`), if any. */
  readonly pathSecret: string | undefined;
  readonly now: number;
  /** The farms that exist (a generic body may name some). */
  readonly farmNames: readonly string[];
}

export type Verification = { ok: true } | { ok: false; reason: string };

export type WebhookMapping =
  /** Understood, and it changes the site: invalidate these. */
  | {
      readonly kind: 'invalidate';
      readonly event: string;
      readonly action: InvalidationAction;
      readonly paths: readonly string[];
      readonly tags: readonly string[];
      /** Farms named by the request itself (generic kind); undefined = the webhook's farms. */
      readonly farms?: readonly string[] | undefined;
      /** Template results that were not valid paths (logged). */
      readonly refusedPaths?: readonly string[];
    }
  /** Understood, but nothing on the site depends on it (a draft saved, a content type changed). */
  | { readonly kind: 'ignore'; readonly event: string; readonly reason: string }
  /** Verified, but not the payload this kind sends. */
  | { readonly kind: 'malformed'; readonly reason: string }
  /** Verified, but refused on what the body says (a signed `ts` too old: a replay). */
  | { readonly kind: 'refused'; readonly reason: string };

/**
 * How retries and replays are recognised: keys (an idempotency key, a signature that carries a
 * timestamp), and whether this attempt may be a repeat of an earlier one. A request is a
 * duplicate when any of its keys was seen.
 */
export interface DedupeKey {
  readonly keys: readonly string[];
  /** False for a first attempt that still records its keys (Umbraco's retry counter is 0). */
  readonly check: boolean;
}

export interface WebhookAdapter<K extends WebhookKind = WebhookKind> {
  readonly kind: K;
  /** Is the request from the CMS? (signature and timestamp, secret header or secret path) */
  verify(cfg: WebhookConfigOf<K>, req: WebhookRequest): Verification;
  /** The retry/idempotency key, when the CMS sends one. */
  dedupeKey(cfg: WebhookConfigOf<K>, req: WebhookRequest, json: unknown): DedupeKey | undefined;
  /** The verified JSON body → what to invalidate. */
  map(cfg: WebhookConfigOf<K>, req: WebhookRequest, json: unknown): WebhookMapping;
}

