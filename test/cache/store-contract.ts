/**
 * The cache store contract: one suite that every CacheStore passes (undici
 * test/cache-interceptor/cache-store-test-utils.js `cacheStoreTests(Store)`): the file-system store
 * (fs-store.test.ts) and the in-memory fake (memory-store.test.ts). A store's own test file calls
 * it and then adds what only that store can show (the disk layout, symlinks, the crash sweep).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CacheStore, StoreObserver, StoredMeta } from '../../src/cache/store.js';


export type OpenStore = (opts: { now: () => number; observer: StoreObserver }) => Promise<{ store: CacheStore; close(): Promise<void> }>;

const HTML: StoredMeta = { headers: [['content-type', 'text/html']], ttlExpiresMs: undefined };

async function store(s: CacheStore, docPath: string, body: string, startedAt: number, meta: StoredMeta = HTML): Promise<boolean> {
  const w = s.beginWrite(docPath, startedAt);
  w.write(Buffer.from(body));
  return w.commit(meta);
}

export function cacheStoreContract(name: string, open: OpenStore): void {
  describe(`CacheStore contract: ${name}`, () => {
    let clock = 1_700_000_000_000;
    const events: string[] = [];
    const observer: StoreObserver = {
      stored: (docPath, meta) => events.push(`stored ${docPath} ${meta.headers.length}`),
      removed: (docPath, kind) => events.push(`removed ${docPath} ${kind}`),
    };
    async function fresh() {
      events.length = 0;
      return open({ now: () => clock, observer });
    }

    it('a committed write is found with its body, headers, size and mtime = render start', async () => {
      const { store: s, close } = await fresh();
      try {
        assert.equal(await store(s, '/content/a.html', 'AAA', clock - 5000), true);
        const hit = await s.lookup('/content/a.html', 1000);
        assert.ok(hit);
        assert.equal(hit.body?.toString(), 'AAA');
        assert.equal(hit.size, 3);
        assert.equal(hit.mtimeMs, clock - 5000);
        assert.deepEqual(hit.headers, [['content-type', 'text/html']]);
        assert.equal(hit.ttlExpiresMs, undefined);
        assert.equal(s.peek('/content/a.html', 1000)?.body?.toString(), 'AAA', 'peek finds it in memory');
        assert.equal(await s.lookup('/content/b.html', 1000), undefined);
        assert.equal(s.peek('/content/b.html', 1000), undefined);
      } finally {
        await close();
      }
    });

    it('the .ttl expiry is stored, and dropped when the next copy has none', async () => {
      const { store: s, close } = await fresh();
      try {
        await store(s, '/t.html', 'x', clock - 10, { headers: [], ttlExpiresMs: clock + 60_000 });
        assert.equal((await s.lookup('/t.html', 0))?.ttlExpiresMs, clock + 60_000);
        await store(s, '/t.html', 'y', clock - 5);
        assert.equal((await s.lookup('/t.html', 0))?.ttlExpiresMs, undefined);
      } finally {
        await close();
      }
    });

    it('an aborted write leaves nothing, not even a name in the listing', async () => {
      const { store: s, close } = await fresh();
      try {
        const w = s.beginWrite('/content/x.html', clock);
        w.write(Buffer.from('partial'));
        await w.abort();
        assert.equal(await s.lookup('/content/x.html', 0), undefined);
        assert.deepEqual(await s.list('/content'), []);
      } finally {
        await close();
      }
    });

    it('list() names the files of a folder with their sidecars, and its folders', async () => {
      const { store: s, close } = await fresh();
      try {
        await store(s, '/c/p.html', 'p', clock - 10, { headers: [], ttlExpiresMs: clock + 1000 });
        await store(s, '/c/sub/q.html', 'q', clock - 10);
        const names = (await s.list('/c')).map((e) => `${e.name}${e.isDirectory ? '/' : ''}`).sort();
        assert.deepEqual(names, ['p.html', 'p.html.h', 'p.html.ttl', 'sub/']);
        assert.deepEqual(await s.list('/nope'), []);
      } finally {
        await close();
      }
    });

    it('remove() deletes a file or a whole folder, and says whether anything was there', async () => {
      const { store: s, close } = await fresh();
      try {
        await store(s, '/c/a.html', 'a', clock - 10);
        await store(s, '/c/d/e/f.html', 'f', clock - 10);
        assert.equal(await s.remove('/c/a.html'), true);
        assert.equal(await s.lookup('/c/a.html', 0), undefined);
        assert.equal(s.peek('/c/a.html', 60_000), undefined, 'not from memory either');
        assert.equal(await s.remove('/c/a.html'), false);
        assert.equal(await s.remove('/c/d'), true);
        assert.equal(await s.lookup('/c/d/e/f.html', 0), undefined);
        assert.deepEqual((await s.list('/c')).map((e) => e.name).sort(), ['a.html.h']);
        await assert.rejects(s.remove('/'), /docroot itself/);
      } finally {
        await close();
      }
    });

    it('a fence refuses copies rendered before it, cached or still in flight', async () => {
      const { store: s, close } = await fresh();
      try {
        await store(s, '/content/c.html', 'old', clock - 3000);
        clock += 10;
        await s.fence(['/content/c', '/content/c.', '/content/c/_jcr_content/']);
        assert.equal(s.peek('/content/c.html', 60_000), undefined, 'not served from memory');
        assert.equal(await s.lookup('/content/c.html', 60_000), undefined, 'not loaded');
        assert.equal(await store(s, '/content/c.html', 'in flight before', clock - 1), false, 'not installed');
        assert.equal(await store(s, '/content/c.html', 'in flight at the fence', clock), false, 'equal times are refused');
        assert.equal(await store(s, '/content/c.html', 'rendered after', clock + 1), true);
        assert.equal((await s.lookup('/content/c.html', 0))?.body?.toString(), 'rendered after');
        assert.equal(s.lastDeleted('/content/c.mobile.html'), clock, 'base.* is fenced');
        assert.equal(s.lastDeleted('/content/c/_jcr_content/par.json'), clock, 'the folder is fenced');
        assert.equal(s.lastDeleted('/content/cc.html'), 0, 'a neighbour is not');
        await s.fence(['/']);
        assert.equal(s.lastDeleted('/anything/below.html'), clock, '"/" fences the whole docroot');
      } finally {
        await close();
      }
    });

    it('remove() fences what it deleted: a render in flight for it is not installed', async () => {
      const { store: s, close } = await fresh();
      try {
        await store(s, '/r/a.html', 'a', clock - 10);
        const w = s.beginWrite('/r/a.html', clock - 5);
        w.write(Buffer.from('rendered before the delete'));
        clock += 1;
        await s.remove('/r/a.html');
        assert.equal(await w.commit(HTML), false);
        assert.equal(await s.lookup('/r/a.html', 0), undefined);
      } finally {
        await close();
      }
    });

    it('a write committing while a fence lands is refused or visible to the listing after the fence', async () => {
      const { store: s, close } = await fresh();
      try {
        for (let i = 0; i < 20; i++) {
          const docPath = `/race/p${i}.html`;
          const w = s.beginWrite(docPath, clock);
          w.write(Buffer.from('x'));
          const committing = w.commit(HTML);
          // Let the write get anywhere between its start and its rename.
          for (let j = 0; j < i; j++) await Promise.resolve();
          clock += 1;
          await s.fence([`/race/p${i}`, `/race/p${i}.`]);
          const listed = (await s.list('/race')).some((e) => e.name === `p${i}.html`);
          const installed = await committing;
          assert.equal(listed, installed, `p${i}: installed ${installed}, listed ${listed}`);
        }
      } finally {
        await close();
      }
    });

    it('touchStat() creates the .stat with the flush time; the nearest one decides at once', async () => {
      const { store: s, close } = await fresh();
      try {
        const lookup = s.statLookup('/content/site/en/page.html', 3);
        assert.equal(await s.readStat(lookup, 60_000), undefined);
        assert.equal(await s.touchStat('/', clock - 100), true);
        assert.equal(await s.readStat(lookup, 60_000), clock - 100, 'the root .stat governs when it is the only one');
        assert.equal(await s.touchStat('/content/site', clock), true);
        assert.equal(s.peekStat(lookup, 60_000), clock, 'known in memory without waiting for the check interval');
        assert.equal(await s.readStat(lookup, 60_000), clock);
        assert.equal(await s.readStat(s.statLookup('/content/other.html', 3), 60_000), clock - 100);
        assert.equal(await s.readStat(s.statLookup('/content/site/en/deep/x.html', 1), 60_000), clock - 100, 'capped at statfileslevel');
      } finally {
        await close();
      }
    });

    it('touchStat() never moves a .stat back in time: flushes applied in parallel finish in any order', async () => {
      const { store: s, close } = await fresh();
      try {
        const lookup = s.statLookup('/content/site/page.html', 2);
        assert.equal(await s.touchStat('/content/site', clock + 1), true);
        // A flush that took its time earlier finishes later: the later time stands for both.
        assert.equal(await s.touchStat('/content/site', clock), true);
        assert.equal(await s.readStat(lookup, 0), clock + 1);
        assert.equal(await s.touchStat('/content/site', clock + 2), true);
        assert.equal(await s.readStat(lookup, 0), clock + 2);
      } finally {
        await close();
      }
    });

    it('touchStat() recreates a folder a concurrent flush just removed', async () => {
      const { store: s, close } = await fresh();
      try {
        await store(s, '/content/site/en/page.html', 'x', clock - 10);
        assert.equal(await s.touchStat('/content/site/en', clock - 5), true);
        const [removed, touched] = await Promise.all([s.remove('/content/site/en'), s.touchStat('/content/site/en', clock)]);
        assert.equal(removed, true);
        assert.equal(touched, true);
        // Whichever ran first, the folder ends with a .stat: after the delete the touch makes it
        // again; before it, the delete takes the folder and its .stat (the touch that raced it
        // then counts for the pages below, all gone).
        const names = (await s.list('/content/site/en')).map((e) => e.name);
        assert.ok(names.length === 0 || (names.length === 1 && names[0] === '.stat'), names.join());
        assert.equal(await s.touchStat('/content/site/en', clock + 1), true);
        assert.deepEqual((await s.list('/content/site/en')).map((e) => e.name), ['.stat']);
      } finally {
        await close();
      }
    });

    it('remove() of a folder with a write in flight below it completes; the write is not installed', async () => {
      const { store: s, close } = await fresh();
      try {
        await store(s, '/del/a/old.html', 'old', clock - 10);
        const w = s.beginWrite('/del/a/b/new.html', clock - 5);
        w.write(Buffer.from('rendered before the delete'));
        clock += 1;
        assert.equal(await s.remove('/del/a'), true);
        assert.equal(await w.commit(HTML), false);
        assert.deepEqual(await s.list('/del'), []);
        assert.equal(await s.lookup('/del/a/b/new.html', 0), undefined);
      } finally {
        await close();
      }
    });

    it('a file where a folder must be, or a folder where the file must be, is not stored', async () => {
      const { store: s, close } = await fresh();
      try {
        await store(s, '/f/page', 'a page without extension', clock - 10);
        assert.equal(await store(s, '/f/page/child.html', 'x', clock - 5), false);
        await store(s, '/g/dir/child.html', 'y', clock - 10);
        assert.equal(await store(s, '/g/dir', 'z', clock - 5), false);
        assert.equal((await s.lookup('/g/dir/child.html', 0))?.body?.toString(), 'y');
        assert.equal(await s.touchStat('/f/page', clock), false, 'no .stat below a file');
      } finally {
        await close();
      }
    });

    it('the observer hears every stored file and every removed name', async () => {
      const { store: s, close } = await fresh();
      try {
        await store(s, '/o/a.html', 'a', clock - 10);
        await store(s, '/o/b/c.html', 'c', clock - 10, { headers: [], ttlExpiresMs: undefined });
        clock += 1;
        await s.remove('/o/a.html');
        assert.equal(await store(s, '/o/a.html', 'rendered before the delete: refused', clock - 100), false);
        await s.remove('/o/b');
        await s.remove('/o/missing.html');
        assert.deepEqual(events, ['stored /o/a.html 1', 'stored /o/b/c.html 0', 'removed /o/a.html file', 'removed /o/b tree']);
      } finally {
        await close();
      }
    });

    it('a write the observer no longer admits (a tag invalidated since its render started) is not stored; tags go to the .h', async () => {
      const { store: s, close } = await fresh();
      try {
        const refusing: StoreObserver = { admits: (_p, meta, startedAt) => !(meta.tags ?? []).includes('gone') || startedAt > clock };
        const { store: r, close: closeR } = await open({ now: () => clock, observer: refusing });
        try {
          assert.equal(await store(r, '/t/a.html', 'old', clock - 10, { headers: [], ttlExpiresMs: undefined, tags: ['gone'] }), false);
          assert.equal(await r.lookup('/t/a.html', 0), undefined);
          assert.equal(await store(r, '/t/b.html', 'ok', clock - 10, { headers: [], ttlExpiresMs: undefined, tags: ['kept'] }), true);
          await r.settle();
        } finally {
          await closeR();
        }
        assert.equal(await store(s, '/t/c.html', 'c', clock - 10, { headers: [['Content-Type', 'text/html']], ttlExpiresMs: undefined, tags: ['x', 'y'] }), true);
        assert.deepEqual(events.at(-1), 'stored /t/c.html 1');
      } finally {
        await close();
      }
    });

    it('remove(P, { withSidecars }) deletes the file with its .h and .ttl, in one step', async () => {
      const { store: s, close } = await fresh();
      try {
        await store(s, '/w/a.html', 'a', clock - 10, { headers: [['content-type', 'text/html']], ttlExpiresMs: clock + 60_000 });
        await store(s, '/w/b.html', 'b', clock - 10);
        assert.equal(await s.remove('/w/a.html', { withSidecars: true }), true);
        const names = (await s.list('/w')).map((e) => e.name).sort();
        assert.deepEqual(names, ['b.html', 'b.html.h']);
      } finally {
        await close();
      }
    });

    it('removeFiles deletes many files with their sidecars, skips folders and missing names, and tells the observer', async () => {
      const { store: s, close } = await fresh();
      try {
        for (const p of ['/m/a.html', '/m/b.html', '/n/c.html', '/n/d/e.html']) await store(s, p, p, clock - 10);
        events.length = 0;
        const gone = await s.removeFiles(['/m/a.html', '/n/c.html', '/n/d', '/m/missing.html']);
        assert.deepEqual(gone.sort(), ['/m/a.html', '/n/c.html']);
        assert.deepEqual((await s.list('/m')).map((e) => e.name).sort(), ['b.html', 'b.html.h']);
        assert.equal((await s.lookup('/n/d/e.html', 0))?.body?.toString(), '/n/d/e.html', 'a folder named in the list is not deleted');
        assert.deepEqual(events.sort(), ['removed /m/a.html file', 'removed /n/c.html file']);
        clock += 1;
        assert.equal(await store(s, '/m/a.html', 'rendered before the delete', clock - 100), false, 'fenced like remove()');
      } finally {
        await close();
      }
    });

    it('checkDocroot() resolves while the docroot is there', async () => {
      const { store: s, close } = await fresh();
      try {
        await s.checkDocroot();
        assert.equal(s.writable, true);
      } finally {
        await close();
      }
    });
  });
}
