/**
 * Requests and responses without sockets, for unit tests of node:http handlers (httpxy
 * test/_stubs.ts): a real IncomingMessage on an unconnected socket, and a response that records
 * status, headers and body and implements what our handlers use of ServerResponse.
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';

export interface FakeRequestInit {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  /** The TCP peer (default 127.0.0.1). */
  remoteAddress?: string;
  body?: string;
}

export function fakeRequest(init: FakeRequestInit): IncomingMessage {
  const socket = new net.Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: init.remoteAddress ?? '127.0.0.1' });
  const req = new http.IncomingMessage(socket);
  req.method = init.method ?? 'GET';
  req.url = init.url;
  req.headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  if (init.body !== undefined) req.push(Buffer.from(init.body));
  req.push(null);
  return req;
}

export class FakeResponse extends Writable {
  statusCode = 200;
  headersSent = false;
  readonly chunks: Buffer[] = [];
  /** The error the response was destroyed with, if any. */
  error: Error | undefined;
  readonly #headers = new Map<string, string | number | string[]>();
  /** Resolves when the response is finished or destroyed. */
  readonly done: Promise<void>;

  constructor(readonly req: IncomingMessage) {
    super();
    this.done = new Promise((resolve) => this.once('close', () => resolve()));
    // res.destroy(err) on a real response ends at the socket, which the server owns.
    this.on('error', (err) => (this.error = err));
  }

  /** Makes a fresh pair; `res` is typed as the ServerResponse our handlers take. */
  static for(init: FakeRequestInit): { req: IncomingMessage; res: ServerResponse; fake: FakeResponse } {
    const req = fakeRequest(init);
    const fake = new FakeResponse(req);
    return { req, res: fake as unknown as ServerResponse, fake };
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  get headers(): Record<string, string | number | string[]> {
    return Object.fromEntries(this.#headers);
  }

  header(name: string): string | undefined {
    const v = this.#headers.get(name.toLowerCase());
    return v === undefined ? undefined : Array.isArray(v) ? v.join(', ') : String(v);
  }

  setHeader(name: string, value: string | number | string[]): this {
    this.#headers.set(name.toLowerCase(), value);
    return this;
  }

  getHeader(name: string): string | number | string[] | undefined {
    return this.#headers.get(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.#headers.delete(name.toLowerCase());
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders | readonly (string | number)[]): this {
    if (this.headersSent) throw new Error('writeHead after headers were sent');
    this.statusCode = status;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.#add(String(headers[i]), headers[i + 1] as string | number);
    } else if (headers) {
      for (const [k, v] of Object.entries(headers)) if (v !== undefined) this.#headers.set(k.toLowerCase(), v as string | number | string[]);
    }
    this.headersSent = true;
    return this;
  }

  #add(name: string, value: string | number): void {
    const key = name.toLowerCase();
    const prev = this.#headers.get(key);
    this.#headers.set(key, prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), String(value)]);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.headersSent = true;
    this.chunks.push(Buffer.from(chunk));
    cb();
  }
}
