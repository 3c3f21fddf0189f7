/**
 * A Runtime on fakes: the config as users write it (YAML through the real loader), the in-memory
 * store, the fake render and an injected clock. Nothing listens, nothing touches the disk.
 */
import { HotLayer } from '../../src/cache/hot-layer.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { testClock, type TestClock } from '../helpers/clock.js';
import { oneFarmYaml } from '../helpers/farmgate.js';
import { TagStore } from '../../src/tags/tag-store.js';
import { MemoryStore } from './memory-store.js';
import { FakeRender } from './render-client.js';

export interface FakeRuntime {
  readonly rt: Runtime;
  readonly store: MemoryStore;
  readonly render: FakeRender;
  readonly clock: TestClock;
  readonly metrics: Metrics;
}

/**
 * One farm `site` (host `site.local`, flushRoutes `/content/**`) on server `web1`, with
 * overridable cache keys; `edit` may change the YAML further.
 */
export async function fakeRuntime(cache: Record<string, unknown> = {}, extraYaml = '', edit = (yaml: string) => yaml): Promise<FakeRuntime> {
  const clock = testClock('manual', 1_700_000_000_000);
  const store = new MemoryStore({ now: clock.now });
  const render = new FakeRender();
  const metrics = createMetrics();
  const yaml = oneFarmYaml('http://render.test', cache, extraYaml).replace('server:\n', 'server:\n  name: web1\n');
  const config = parseConfig(edit(yaml), '/virtual/farmgate.yaml', {});
  const rt = await createRuntime({
    config,
    log: silentLogger,
    metrics,
    hot: new HotLayer(1 << 20, 1 << 16),
    now: clock.now,
    openStore: async (_docroot, _farm, observer) => {
      store.observe(observer);
      return store;
    },
    openTagIndex: (docroot) => TagStore.open({ stateDir: undefined, realDocroot: docroot }),
    renderClient: () => render,
  });
  return { rt, store, render, clock, metrics };
}

/** Lets every pending promise of an I/O-free path run (the fakes never wait on the disk or a socket). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
