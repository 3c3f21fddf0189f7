/** Building webhook configs (through the real schema, defaults included) and requests. */
import { webhookSchema, type WebhookConfig } from '../../../src/config/invalidation-schema.js';
import type { WebhookRequest } from '../../../src/invalidation/webhooks/types.js';

export const SECRET = 'a-webhook-secret-of-some-length-0123456789';
export const NOW = Date.parse('2026-11-29T12:00:00Z');

export function hook(raw: Record<string, unknown>): WebhookConfig {
  return webhookSchema.parse({ name: 'cms', secret: SECRET, ...raw });
}

export function request(body: unknown, headers: Record<string, string> = {}, extra: Partial<WebhookRequest> = {}): WebhookRequest {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'POST', url: '/farmgate/v1/webhooks/cms', headers: lower, body: buf, pathSecret: undefined, now: NOW, farmNames: ['site-a', 'site-b'], ...extra };
}

export const json = (r: WebhookRequest): unknown => JSON.parse(r.body.toString('utf8'));
