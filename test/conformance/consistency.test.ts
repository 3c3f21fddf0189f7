/**
 * Consistency under load, once per deployment (farmgate direct, the nginx front, the Apache
 * front): hits, misses and flushes from concurrent clients against a render whose pages carry a
 * version number. Property: once a flush is acknowledged (grace 0), no later response for the
 * flushed page carries a version older than the one current at the flush: through a front, the
 * disk itself must hold no older copy after the flush's 200 (the front cannot see farmgate's
 * in-memory deletion fences; NOTES.md seam 4).
 * 60 s direct and 20 s per front by default; FARMGATE_CONSISTENCY_MS sets another duration for each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEPLOYMENTS, startDeployment, type Deployment } from '../helpers/deployments.js';
import { oneFarmYaml } from '../helpers/farmgate.js';
import { sleep, startRender, type TestRender } from '../helpers/render.js';

const PAGES = 40;

for (const kind of DEPLOYMENTS) {
  const DURATION = Number(process.env.FARMGATE_CONSISTENCY_MS ?? (kind === 'direct' ? 60_000 : 20_000));

  describe(`consistency under load (${kind})`, () => {
    const versions = new Map<string, number>();
    let render: TestRender;
    let fg: Deployment;
    before(async () => {
      render = await startRender((req) => {
        const p = req.url ?? '';
        return { body: `${p} v${versions.get(p) ?? 1}`, delayMs: Math.floor(Math.random() * 15) };
      });
      fg = await startDeployment(kind, oneFarmYaml(render.url, { statfileslevel: 2, gracePeriodMs: 0, statCheckIntervalMs: 1000 }));
    });
    after(async () => {
      await fg.close();
      await render.close();
    });

    it(`no response after a flush's 200 is older than the flushed version (${DURATION / 1000} s)`, { timeout: DURATION + 60_000 }, async () => {
      const page = (i: number) => `/content/site/p${i}.html`;
      /** per page: acknowledged flushes, in order: [ackTime, version] */
      const acks = new Map<string, [number, number][]>();
      const reads: { p: string; t0: number; v: number; cache: string | null }[] = [];
      const flushFailures: string[] = [];
      let running = true;

      const reader = async () => {
        while (running) {
          const p = page(Math.floor(Math.random() * PAGES));
          const t0 = performance.now();
          const r = await fg.request(p, { host: 'site.local' });
          const body = await r.text();
          const v = Number(/ v(\d+)$/.exec(body)?.[1]);
          assert.equal(r.status, 200, body);
          reads.push({ p, t0, v, cache: r.headers.get('x-cache') });
        }
      };
      const publisher = async () => {
        while (running) {
          const i = Math.floor(Math.random() * PAGES);
          const p = page(i);
          const v = (versions.get(p) ?? 1) + 1;
          versions.set(p, v);
          const r = await fg.request('/dispatcher/invalidate.cache', {
            method: 'POST',
            headers: { 'cq-action': 'Activate', 'cq-handle': `/content/site/p${i}`, 'content-length': '0' },
          });
          if (r.status !== 200) flushFailures.push(`${p}: ${r.status} ${await r.text()}`);
          else await r.text();
          const list = acks.get(p) ?? [];
          list.push([performance.now(), v]);
          acks.set(p, list);
          await sleep(Math.floor(Math.random() * 10));
        }
      };
      const workers = [...Array.from({ length: 8 }, reader), publisher(), publisher()];
      await sleep(DURATION);
      running = false;
      await Promise.all(workers);

      assert.deepEqual(flushFailures, []);
      const violations: string[] = [];
      for (const r of reads) {
        const list = acks.get(r.p) ?? [];
        let required = 1;
        for (const [at, v] of list) if (at < r.t0) required = Math.max(required, v);
        if (r.v < required) {
          violations.push(`${r.p}: read v${r.v} (${r.cache}) after v${required} was flushed`);
          if (process.env.FARMGATE_CONSISTENCY_DEBUG) {
            const events = [
              ...list.map(([at, v]) => ({ t: at, what: `ack v${v}` })),
              ...reads.filter((x) => x.p === r.p).map((x) => ({ t: x.t0, what: `read start → v${x.v} ${x.cache}` })),
            ].sort((a, b) => a.t - b.t);
            console.log(r.p, events.filter((e) => Math.abs(e.t - r.t0) < 300).map((e) => `${e.t.toFixed(1)} ${e.what}`).join('\n'));
          }
        }
      }
      const flushes = [...acks.values()].reduce((n, l) => n + l.length, 0);
      const hits = reads.filter((r) => r.cache === 'HIT').length;
      assert.ok(reads.length > 500 && flushes > 50 && hits > 100, `${reads.length} reads (${hits} hits), ${flushes} flushes`);
      assert.deepEqual(violations.slice(0, 10), []);
    });
  });
}
