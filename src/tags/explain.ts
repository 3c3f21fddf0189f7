/**
 * `farmgate explain --tag T`: which cached files a tag invalidation would delete, changing
 * nothing. Read from the saved tag index (tag-store.ts `readSavedIndex`, as the running server
 * last wrote it) and checked against the disk: a file counts only if it is still there and its
 * `.h` still lists the tag. Without a saved index (the server never ran with this stateDir) the
 * docroot's sidecars are read instead, up to a cap.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isInternalName } from '../cache/doc-path.js';
import { walkFiles } from '../cache/walk.js';
import type { Farm } from '../farms/farm.js';
import { storedTags } from './journal.js';
import { readSavedIndex } from './tag-store.js';

export const TAG_SAMPLE = 10;
/** Entries looked at when there is no saved index. */
export const TAG_WALK_CAP = 200_000;

export interface TagExplainFarm {
  readonly farm: string;
  readonly docroot: string;
  /** `index`: from the saved tag index; `walk`: no index yet, the sidecars were read. */
  readonly source: 'index' | 'walk';
  /** Cached files carrying any of the tags (each deleted with its `.h` and `.ttl`). */
  readonly count: number;
  readonly sample: string[];
  /** Per tag, how many files carry it. */
  readonly byTag: Record<string, number>;
  /** The walk stopped at the cap: the count is a lower bound. */
  readonly truncated: boolean;
}

export interface TagExplainReport {
  readonly tags: readonly string[];
  readonly farms: TagExplainFarm[];
}

export async function explainTags(stateDir: string, farms: readonly Farm[], tags: readonly string[]): Promise<TagExplainReport> {
  const out: TagExplainFarm[] = [];
  for (const farm of farms) out.push(await explainFarm(stateDir, farm, tags));
  return { tags, farms: out };
}

async function explainFarm(stateDir: string, farm: Farm, tags: readonly string[]): Promise<TagExplainFarm> {
  let real: string;
  try {
    real = await fs.realpath(farm.docroot);
  } catch {
    return { farm: farm.name, docroot: farm.docroot, source: 'index', count: 0, sample: [], byTag: Object.fromEntries(tags.map((t) => [t, 0])), truncated: false };
  }
  const saved = await readSavedIndex(stateDir, real);
  const found = new Map<string, readonly string[]>();
  let truncated = false;
  if (saved.found) {
    const candidates = new Set<string>();
    for (const t of tags) for (const p of saved.index.files(t)) candidates.add(p);
    for (const docPath of candidates) {
      const onDisk = await tagsOnDisk(real, docPath);
      if (onDisk) found.set(docPath, onDisk);
    }
  } else {
    let seen = 0;
    for await (const { path: abs, entry } of walkFiles(real)) {
      if (++seen > TAG_WALK_CAP) {
        truncated = true;
        break;
      }
      if (!entry.isFile()) continue;
      const docPath = '/' + path.relative(real, abs).split(path.sep).join('/');
      if (isInternalName(docPath)) continue;
      const onDisk = await tagsOnDisk(real, docPath);
      if (onDisk) found.set(docPath, onDisk);
    }
  }
  const byTag: Record<string, number> = Object.fromEntries(tags.map((t) => [t, 0]));
  const matching: string[] = [];
  for (const [docPath, fileTags] of found) {
    let hit = false;
    for (const t of tags) {
      if (fileTags.includes(t)) {
        byTag[t]!++;
        hit = true;
      }
    }
    if (hit) matching.push(docPath);
  }
  matching.sort();
  return { farm: farm.name, docroot: farm.docroot, source: saved.found ? 'index' : 'walk', count: matching.length, sample: matching.slice(0, TAG_SAMPLE), byTag, truncated };
}

/** The tags in a cached file's `.h`, when the file is there (inside the docroot, not a link). */
async function tagsOnDisk(realDocroot: string, docPath: string): Promise<readonly string[] | undefined> {
  const abs = path.join(realDocroot, docPath);
  try {
    const st = await fs.lstat(abs);
    if (!st.isFile()) return undefined;
    const dir = await fs.realpath(path.dirname(abs));
    if (dir !== realDocroot && !dir.startsWith(realDocroot + path.sep)) return undefined;
    return storedTags(await fs.readFile(abs + '.h', 'utf8'));
  } catch {
    return undefined;
  }
}
