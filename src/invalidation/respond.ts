/**
 * Answers of the invalidation API and the webhooks: JSON, `Cache-Control: no-store`, and no
 * `X-Cache` (contract section 3: "except flush and invalidation-API responses").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppError } from '../errors.js';

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body) + '\n';
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(req.method === 'HEAD' ? undefined : text);
}

export function sendInvalidationError(req: IncomingMessage, res: ServerResponse, err: AppError): void {
  if (err.code === 'FG_INVALIDATION_METHOD') res.setHeader('Allow', 'POST');
  // The rest of an oversized body is never read: close the connection after answering.
  if (err.status === 413 || err.status === 408) res.setHeader('Connection', 'close');
  sendJson(req, res, err.status, { error: err.message.replace(/[\r\n]+/g, ' '), code: err.code });
}
