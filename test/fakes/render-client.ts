/**
 * A fake RenderClient: scripted replies per path, a record of every request, and events the tests
 * wait on instead of sleeping: `arrived(path)` resolves when a request reaches the render, and a
 * `held` reply waits until the test releases it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { RenderClient, RenderRequest, RenderResponse } from '../../src/render/render-client.js';

export interface FakeReply {
  status?: number;
  headers?: IncomingHttpHeaders;
  /** The body, or its chunks in order. */
  body?: string | Buffer | (string | Buffer)[];
  /** Thrown instead of answering (an AppError such as FG_RENDER_UNREACHABLE). */
  error?: Error;
  /** The body fails after its chunks were sent (a reset mid-body). */
  failMidBody?: Error;
  /** The answer waits for this promise (see FakeRender.hold). */
  until?: Promise<void>;
}

type Route = (req: RenderRequest, n: number) => FakeReply;

export class FakeRender implements RenderClient {
  readonly requests: RenderRequest[] = [];
  readonly #routes = new Map<string, Route>();
  readonly #counts = new Map<string, number>();
  readonly #waiters: { path: string; n: number; resolve: (r: RenderRequest) => void }[] = [];
  closed = false;

  /** Answers requests for a path (without query); the default is a 200 HTML page naming the request. */
  route(path: string, reply: FakeReply | Route): void {
    this.#routes.set(path, typeof reply === 'function' ? reply : () => reply);
  }

  /** Requests seen for a path. */
  count(path: string): number {
    return this.#counts.get(path) ?? 0;
  }

  /** Resolves when the n-th request for a path has arrived. */
  arrived(path: string, n = 1): Promise<RenderRequest> {
    const seen = this.requests.filter((r) => pathOf(r.path) === path);
    if (seen.length >= n) return Promise.resolve(seen[n - 1]!);
    return new Promise((resolve) => this.#waiters.push({ path, n, resolve }));
  }

  /** A gate for `until`: replies that carry it wait for release(). */
  static gate(): { until: Promise<void>; release(): void } {
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    return { until, release };
  }

  async request(req: RenderRequest): Promise<RenderResponse> {
    const path = pathOf(req.path);
    const n = (this.#counts.get(path) ?? 0) + 1;
    this.#counts.set(path, n);
    this.requests.push(req);
    for (const w of [...this.#waiters]) {
      if (w.path === path && w.n === n) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(req);
      }
    }
    const route: Route = this.#routes.get(path) ?? ((r: RenderRequest, k: number) => ({ headers: { 'content-type': 'text/html' }, body: `<html>${r.path} render ${k}</html>` }));
    const reply = route(req, n);
    if (reply.until) await reply.until;
    if (reply.error) throw reply.error;
    const chunks = (Array.isArray(reply.body) ? reply.body : [reply.body ?? '']).map((c) => Buffer.from(c));
    const length = chunks.reduce((a, c) => a + c.length, 0);
    const headers: IncomingHttpHeaders = { 'content-length': String(length), ...reply.headers };
    const fail = reply.failMidBody;
    async function* body() {
      for (const c of chunks) if (c.length > 0) yield c;
      if (fail) throw fail;
    }
    return { statusCode: reply.status ?? 200, headers, body: Readable.from(body()), render: 'fake' };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function pathOf(p: string): string {
  const q = p.indexOf('?');
  return q < 0 ? p : p.slice(0, q);
}
