/**
 * Config reload (contract section 7): SIGHUP or a change of the config file re-reads it. An
 * invalid config is refused with the same messages as `farmgate check` and the running config
 * stays; a valid one replaces the farms atomically (requests in flight finish on the runtime
 * they started with). Reloads run one at a time; file events are debounced.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { ConfigError, formatProblem } from '../errors.js';
import type { Logger } from '../logger.js';
import { loadConfig, type Config, type Env } from './index.js';

export interface Reloader {
  /** Re-reads the file now; resolves true when the new config is in force. */
  reload(why: string): Promise<boolean>;
  /** Starts watching the file (debounced); returns a stop function. */
  watch(debounceMs?: number): () => void;
  readonly reloads: { ok: number; refused: number };
}

export function createReloader(opts: {
  file: string;
  apply: (config: Config) => Promise<void>;
  log: Logger;
  env?: Env;
}): Reloader {
  let chain = Promise.resolve(true);
  const counts = { ok: 0, refused: 0 };
  const reload = (why: string) => {
    chain = chain.then(async () => {
      try {
        const next = await loadConfig(opts.file, opts.env);
        await opts.apply(next);
        counts.ok++;
        opts.log.info({ why, farms: next.farms.map((f) => f.name) }, 'config reloaded');
        return true;
      } catch (err) {
        counts.refused++;
        const problems = err instanceof ConfigError ? err.problems.map(formatProblem) : [(err as Error).message];
        opts.log.error({ why, problems }, `config reload refused; the running config stays: ${problems[0] ?? ''}`);
        return false;
      }
    });
    return chain;
  };
  return {
    reload,
    reloads: counts,
    watch(debounceMs = 300) {
      let timer: NodeJS.Timeout | undefined;
      // Watch the folder, not the file: editors replace files by rename, which ends a file watch.
      const dir = path.dirname(path.resolve(opts.file));
      const base = path.basename(opts.file);
      const watcher: FSWatcher = watch(dir, (_event, name) => {
        if (name !== null && name !== base) return;
        clearTimeout(timer);
        timer = setTimeout(() => void reload('file changed'), debounceMs);
      });
      watcher.on('error', (err) => opts.log.warn({ err: err.message }, 'config watch failed; SIGHUP still reloads'));
      return () => {
        clearTimeout(timer);
        watcher.close();
      };
    },
  };
}
