/**
 * Helpers the webhook adapters share. Pure.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createHash } from 'node:crypto';
import { sameSecret } from '../signature.js';
import type { Verification, WebhookRequest } from './types.js';

/**
 * `auth: header` (the secret in a header the CMS is configured to send; `Bearer <secret>` is
 * accepted too, as Strapi's documentation sets `Authorization`) or `auth: path` (the secret as
 * the last path segment, for CMSs that can set neither: it ends up in access logs, README).
 */
export function verifySharedSecret(cfg: { auth: string; header: string; secret: string }, req: WebhookRequest): Verification {
  if (cfg.auth === 'path') {
    if (req.pathSecret === undefined) return { ok: false, reason: 'missing secret path segment' };
    return sameSecret(req.pathSecret, cfg.secret) ? { ok: true } : { ok: false, reason: 'wrong secret path segment' };
  }
  if (cfg.auth === 'header') {
    const raw = header(req.headers, cfg.header);
    if (raw === undefined) return { ok: false, reason: `missing ${cfg.header} header` };
    const value = raw.trim();
    const bearer = /^Bearer\s+(.+)$/i.exec(value)?.[1];
    const ok = sameSecret(value, cfg.secret) || (bearer !== undefined && sameSecret(bearer, cfg.secret));
    return ok ? { ok: true } : { ok: false, reason: `wrong secret in ${cfg.header}` };
  }
  return { ok: false, reason: `auth ${cfg.auth} is not handled here` };
}

/** A header's single value (the first when sent twice). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** A property by name, case-insensitively (Umbraco 13 sends PascalCase, 14+ camelCase). */
export function prop(obj: unknown, name: string): unknown {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, unknown>;
  if (name in rec) return rec[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(rec)) if (k.toLowerCase() === lower) return rec[k];
  return undefined;
}

/** A string or number value as text; undefined otherwise. */
export function text(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A tag made of a prefix and a CMS id: ids are lower-cased GUIDs or plain ids, never spaces. */
export function idTag(prefix: string, id: string): string {
  return `${prefix}${id.replace(/[\s,]+/g, '_')}`;
}
