/**
 * Prometheus metrics (contract section 6). One registry per app, so tests can run several apps
 * in one process. Label values are lower-case.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'farmgate_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'farmgate_requests_total',
      help: 'Requests on the public listener that reached the cache decision, by farm and cache status (hit|miss|stale|pass; pass = not cacheable, sent to a render). Refused requests are in farmgate_requests_refused_total.',
      labelNames: ['farm', 'cache'] as const,
      registers,
    }),
    requestsRefused: new Counter({
      name: 'farmgate_requests_refused_total',
      help: 'Requests answered before the cache (X-Cache: PASS, never sent to a render), by farm ("" when none) and reason (unknown-host|bad-path|internal|filter|url-too-long).',
      labelNames: ['farm', 'reason'] as const,
      registers,
    }),
    flushes: new Counter({
      name: 'farmgate_flushes_total',
      help: 'Flushes applied per farm, by action and result.',
      labelNames: ['farm', 'action', 'result'] as const,
      registers,
    }),
    flushDuration: new Histogram({
      name: 'farmgate_flush_duration_seconds',
      help: 'Time to apply a flush locally (all farms), seconds.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    flushUnrouted: new Counter({
      name: 'farmgate_flush_unrouted_total',
      help: 'Flushes whose CQ-Path no farm routes.',
      registers,
    }),
    flushRejected: new Counter({
      name: 'farmgate_flush_rejected_total',
      help: 'Flush requests refused (403 client, 400 bad input, 413 too large).',
      labelNames: ['reason'] as const,
      registers,
    }),
    renderRequests: new Counter({
      name: 'farmgate_render_requests_total',
      help: 'Requests sent to renders, by farm and outcome (ok|error|unreachable|timeout).',
      labelNames: ['farm', 'outcome'] as const,
      registers,
    }),
    renderDuration: new Histogram({
      name: 'farmgate_render_duration_seconds',
      help: 'Time to the render response headers, seconds.',
      labelNames: ['farm'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    cacheWriteErrors: new Counter({
      name: 'farmgate_cache_write_errors_total',
      help: 'Cache writes that failed (the client response was not affected).',
      labelNames: ['farm'] as const,
      registers,
    }),
    invalidationRequests: new Counter({
      name: 'farmgate_invalidation_requests_total',
      help: 'Invalidation API requests and webhooks, by source (api|webhook) and result (applied|ignored|duplicate|unauthorized|forbidden|bad-request|too-large|method|error|not-recorded).',
      labelNames: ['source', 'result'] as const,
      registers,
    }),
    webhooks: new Counter({
      name: 'farmgate_webhooks_total',
      help: 'CMS webhooks received, by webhook name and result (applied|ignored|duplicate|unauthorized|bad-request|too-large|method|error|not-recorded).',
      labelNames: ['webhook', 'result'] as const,
      registers,
    }),
    tagsDropped: new Counter({
      name: 'farmgate_tags_dropped_total',
      help: 'Tags from render responses not kept: invalid (over 1,024 bytes or control characters) or too-many (past 1,000 per file).',
      labelNames: ['farm', 'reason'] as const,
      registers,
    }),
    propagationLag: new Gauge({
      name: 'farmgate_propagation_lag_events',
      help: 'Events each web-farm server is behind the stream head.',
      labelNames: ['server'] as const,
      registers,
    }),
    propagationPublished: new Counter({
      name: 'farmgate_propagation_published_total',
      help: 'Flush events this server added to the web-farm stream (outbox drains included).',
      registers,
    }),
    propagationApplied: new Counter({
      name: 'farmgate_propagation_applied_total',
      help: 'Flush events from other servers applied here.',
      registers,
    }),
    propagationRejected: new Counter({
      name: 'farmgate_propagation_rejected_total',
      help: 'Events refused, nothing applied, by reason (signature|version|malformed).',
      labelNames: ['reason'] as const,
      registers,
    }),
    propagationFailed: new Counter({
      name: 'farmgate_propagation_failed_total',
      help: 'Events that still failed to apply after every retry (recorded, then skipped).',
      registers,
    }),
    propagationColdFlushes: new Counter({
      name: 'farmgate_propagation_cold_flushes_total',
      help: 'Cold flushes (root .stat of every farm touched) after events were lost to retention or a Redis data loss.',
      registers,
    }),
    propagationOutboxDepth: new Gauge({
      name: 'farmgate_propagation_outbox_depth',
      help: 'Flush events in the local outbox waiting for Redis.',
      registers,
    }),
  };
}
