/**
 * Reads a flush request body with a byte cap (`server.limits.flushBodyBytes`). Beyond the cap the
 * request is refused with 413 and reading stops: a declared `Content-Length` over the cap is
 * refused before a byte is read, a chunked body as soon as it passes the cap.
 */
import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors.js';

const EMPTY = Buffer.alloc(0);

export function readBody(req: IncomingMessage, maxBytes: number, timeoutMs = 30_000): Promise<Buffer> {
  const tooLarge = (n: number | string) =>
    new AppError('FG_FLUSH_BODY_TOO_LARGE', `flush body too large: ${n} bytes (limit ${maxBytes})`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(declared));
  // No Content-Length (or 0) and no Transfer-Encoding: the request has no body (RFC 9112 §6.3),
  // nothing to wait for and no timer to arm (what unread remains is dumped by node).
  if (req.readableEnded || ((declared === 0 || req.headers['content-length'] === undefined) && req.headers['transfer-encoding'] === undefined)) {
    return Promise.resolve(EMPTY);
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // A client that trickles its body (slowloris) is cut off; it holds a socket, never a flush.
    const timer = setTimeout(() => {
      cleanup();
      req.pause();
      reject(new AppError('FG_FLUSH_BODY_TIMEOUT', `flush body not received within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        reject(tooLarge(`more than ${maxBytes}`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('client closed the connection before the flush body was read'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
