/**
 * Listening: the public and admin HTTP servers around an App. The only place that opens ports.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from './app.js';
import type { Config } from '../config/index.js';
import { AppError, ERRORS } from '../errors.js';

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  if (m) return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
  return { host: '127.0.0.1', port: Number(value) };
}

/**
 * Requests the HTTP parser refuses before any handler runs: oversized headers (431,
 * `server.limits.headerBytes`), headers not complete within `headersTimeoutMs` (408), and
 * malformed requests (400). Answered in plain text like every other error, then closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, `${ERRORS.FG_HEADERS_TOO_LARGE.message}`]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request headers not received in time']
        : [400, 'malformed request'];
  const body = `${status} ${reason}\n`;
  // A HEAD answer never has a body (RFC 9110 §9.3.2), even for a request the parser refused: a
  // client reading a HEAD response would take those bytes for the start of its next response.
  // When the request line is not in the bytes the parser kept (a timeout, headers spread over
  // several packets), the method is unknown and no body is sent: safe for HEAD and GET alike.
  const method = requestMethod((err as { rawPacket?: unknown }).rawPacket);
  const withBody = method !== undefined && method !== 'HEAD';
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${withBody ? Buffer.byteLength(body) : 0}\r\nConnection: close\r\n\r\n${withBody ? body : ''}`,
  );
}

/** The method of the raw request the parser refused, when its request line is there to read. */
export function requestMethod(rawPacket: unknown): string | undefined {
  if (!Buffer.isBuffer(rawPacket)) return undefined;
  return /^([A-Z]{3,16}) /.exec(rawPacket.subarray(0, 17).toString('latin1'))?.[1];
}

export interface Listening {
  readonly public: http.Server;
  readonly admin: http.Server | undefined;
  readonly publicUrl: string;
  readonly adminUrl: string | undefined;
  close(): Promise<void>;
}

/** What to do when a listener cannot open, in one line (docs/errors.md, FG_LISTEN_FAILED). */
export function describeListenError(err: NodeJS.ErrnoException, address: string, setting: string): string {
  const where = `cannot listen on ${address} (${setting})`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `${where}: the port is in use by another process (a farmgate already running?); stop it, or pick a free port with ${setting} or --${setting.endsWith('admin') ? 'admin' : 'listen'} ADDR`;
    case 'EACCES':
    case 'EPERM':
      return `${where}: permission denied; ports below 1024 need root, so use a higher port and let nginx or Apache listen on 80`;
    case 'EADDRNOTAVAIL':
      return `${where}: this machine has no such address; use 127.0.0.1 or one of its own addresses`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${where}: the host name does not resolve; use an IP address`;
    default:
      return `${where}: ${err.code ?? err.message}`;
  }
}

function listen(server: http.Server, address: { host: string; port: number }, setting: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const shown = address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
      reject(new AppError('FG_LISTEN_FAILED', describeListenError(err, shown, setting), { cause: err }));
    });
    server.listen(address.port, address.host, () => {
      server.removeAllListeners('error');
      const a = server.address() as AddressInfo;
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve(`http://${host}:${a.port}`);
    });
  });
}

/** Starts the listeners; `overrides` lets tests bind port 0. */
export async function startServers(
  app: App,
  config: Config,
  overrides: { listen?: string; admin?: string | null } = {},
): Promise<Listening> {
  const limits = config.server.limits;
  const pub = http.createServer(
    {
      maxHeaderSize: limits.headerBytes,
      headersTimeout: limits.headersTimeoutMs,
      // A backstop for whole requests (uploads passed to a render); flush bodies have their own.
      requestTimeout: Math.max(300_000, limits.headersTimeoutMs + 1000),
      // How often idle and slow connections are checked (Node's default, 30 s, would let a
      // slowloris client outlive headersTimeoutMs by half a minute).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
      // Longer than nginx's and Apache's upstream keep-alive, so the front server closes first.
      keepAliveTimeout: 75_000,
    },
    app.handlePublic,
  );
  pub.on('clientError', answerClientError);
  const publicUrl = await listen(pub, parseListen(overrides.listen ?? config.server.listen), 'server.listen');
  const adminAddr = overrides.admin === null ? undefined : (overrides.admin ?? config.server.admin);
  let admin: http.Server | undefined;
  let adminUrl: string | undefined;
  if (adminAddr) {
    admin = http.createServer({ keepAliveTimeout: 5000, headersTimeout: limits.headersTimeoutMs }, app.handleAdmin);
    admin.on('clientError', answerClientError);
    try {
      adminUrl = await listen(admin, parseListen(adminAddr), 'server.admin');
    } catch (err) {
      await new Promise<void>((resolve) => pub.close(() => resolve()));
      throw err;
    }
  }
  return {
    public: pub,
    admin,
    publicUrl,
    adminUrl,
    async close() {
      const closing = [pub, admin].filter((s): s is http.Server => s !== undefined).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          }),
      );
      const timer = setTimeout(() => [pub, admin].forEach((s) => s?.closeAllConnections()), 5000);
      await Promise.all(closing);
      clearTimeout(timer);
    },
  };
}
