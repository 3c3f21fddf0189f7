/**
 * Normalization: the parsed (defaulted) config becomes the frozen Config the rest of the code
 * reads. Relative paths resolve against the config file's folder; the server name defaults to
 * the host name; nothing downstream branches on config shape.
 */
import path from 'node:path';
import type { RawConfig, RawFarm } from './schema.js';

export type FarmConfig = Readonly<RawFarm & { docroot: string }>;

/** Where a key or value starts in the config file, 1-based. */
export interface SourcePosition {
  readonly line: number;
  readonly col: number;
}

export interface Config {
  readonly file: string | undefined;
  readonly configDir: string;
  readonly server: Readonly<Omit<RawConfig['server'], 'name' | 'stateDir'> & { name: string; stateDir: string }>;
  readonly flush: Readonly<RawConfig['flush']>;
  readonly farms: readonly FarmConfig[];
  readonly propagation: Readonly<RawConfig['propagation']>;
  readonly invalidation: Readonly<RawConfig['invalidation']>;
  /**
   * Positions of what the file wrote, by dotted key path with list indices as numbers
   * (`farms.0.filter.2` is the third filter item); defaults have none. `farmgate test-url`
   * names a rule's line with it, `farmgate check` its warnings.
   */
  readonly positions: Readonly<Record<string, SourcePosition>>;
}

export function normalizeConfig(
  raw: RawConfig,
  opts: { configDir: string; defaultName: string; file?: string; positions?: Record<string, SourcePosition> },
): Config {
  const resolve = (p: string) => path.resolve(opts.configDir, p);
  const config: Config = {
    file: opts.file,
    configDir: opts.configDir,
    server: {
      ...raw.server,
      name: raw.server.name ?? opts.defaultName,
      stateDir: resolve(raw.server.stateDir ?? 'var/state'),
    },
    flush: raw.flush,
    farms: raw.farms.map((farm) => ({ ...farm, docroot: resolve(farm.docroot) })),
    propagation: raw.propagation,
    invalidation: raw.invalidation,
    positions: opts.positions ?? {},
  };
  return deepFreeze(config);
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
