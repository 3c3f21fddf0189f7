/**
 * Fixtures for flush tests: configs built from plain farm descriptions (through the real
 * loader), an in-memory docroot listing for the pure planner, and temp docroots on disk.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseConfig, type Config } from '../../src/config/index.js';
import type { ListingEntry } from '../../src/cache/store.js';

export interface FarmSpec {
  name: string;
  docroot: string;
  statfileslevel?: number;
  flushRoutes?: string[];
  invalidate?: { allow?: string; deny?: string }[];
  renders?: string[];
}

export interface ConfigSpec {
  farms: FarmSpec[];
  allowedClients?: string[];
  trustedProxies?: string[];
  unrouted?: 'ignore' | 'reject';
  limits?: { flushBodyBytes?: number; refetchUris?: number };
}

export function configYaml(spec: ConfigSpec): string {
  return stringify({
    server: {
      listen: '127.0.0.1:0',
      ...(spec.trustedProxies ? { trustedProxies: spec.trustedProxies } : {}),
      ...(spec.limits ? { limits: spec.limits } : {}),
    },
    flush: {
      ...(spec.allowedClients ? { allowedClients: spec.allowedClients } : {}),
      ...(spec.unrouted ? { unrouted: spec.unrouted } : {}),
    },
    farms: spec.farms.map((f) => ({
      name: f.name,
      virtualhosts: [`${f.name}.local`],
      docroot: f.docroot,
      renders: (f.renders ?? ['http://127.0.0.1:9']).map((url) => ({ url, timeoutMs: 2000 })),
      cache: {
        statfileslevel: f.statfileslevel ?? 0,
        ...(f.invalidate ? { invalidate: f.invalidate } : {}),
      },
      flushRoutes: f.flushRoutes ?? [],
    })),
  });
}

export function makeConfig(spec: ConfigSpec, file = '/tmp/farmgate-test.yaml'): Config {
  return parseConfig(configYaml(spec), file, {});
}

/** Listing of a folder given the document paths of every file in a docroot. */
export function listingOf(files: readonly string[], dir: string): ListingEntry[] {
  const prefix = dir === '/' ? '/' : dir + '/';
  const seen = new Map<string, boolean>();
  for (const f of files) {
    if (!f.startsWith(prefix)) continue;
    const rest = f.slice(prefix.length);
    const slash = rest.indexOf('/');
    const name = slash < 0 ? rest : rest.slice(0, slash);
    seen.set(name, (seen.get(name) ?? false) || slash >= 0);
  }
  return [...seen].map(([name, isDirectory]) => ({ name, isDirectory }));
}

export async function tempDir(prefix = 'farmgate-flush-'): Promise<string> {
  return fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
}

/** Writes files (document paths) under a docroot with an old mtime. */
export async function seed(docroot: string, files: readonly string[], mtimeMs = Date.now() - 60_000): Promise<void> {
  for (const f of files) {
    const abs = path.join(docroot, f);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, `content of ${f}`);
    const t = new Date(mtimeMs);
    await fs.utimes(abs, t, t);
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

export async function mtime(p: string): Promise<number> {
  return (await fs.stat(p)).mtimeMs;
}

/** Every file under a folder, as document paths, sorted (no symlinks followed). */
export async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await fs.readdir(path.join(root, dir), { withFileTypes: true })) {
      const p = dir === '/' ? '/' + e.name : dir + '/' + e.name;
      if (e.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk('/');
  return out.sort();
}
