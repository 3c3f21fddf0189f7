/**
 * Read-only access to a docroot for `farmgate explain`: listings, existence, file counts. Never
 * creates, touches or deletes anything, never follows a symlink, and never reads outside the
 * docroot's real path (a folder whose real path leaves it reads as empty).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Confinement } from '../cache/confine.js';
import type { ListingEntry } from '../cache/store.js';

export interface ReaderEntry extends ListingEntry {
  readonly isFile: boolean;
}

export class DocrootReader {
  private constructor(readonly confinement: Confinement | undefined) {}

  /** A reader for a docroot that may not exist yet (then everything reads as empty). */
  static async open(docroot: string): Promise<DocrootReader> {
    return new DocrootReader(await Confinement.existing(docroot));
  }

  /** The real path of a folder of the docroot, or undefined when absent or outside it. */
  async #dir(dirDocPath: string): Promise<string | undefined> {
    return this.confinement?.safeDir(this.confinement.abs(dirDocPath));
  }

  async list(dirDocPath: string): Promise<ReaderEntry[]> {
    const dir = await this.#dir(dirDocPath);
    if (!dir) return [];
    try {
      const entries = await fs.readdir(dir, { withFileTypes: true });
      return entries.map((e) => ({ name: e.name, isDirectory: e.isDirectory(), isFile: e.isFile() }));
    } catch {
      return [];
    }
  }

  /** What is at a document path, without following a final symlink. */
  async kind(docPath: string): Promise<'file' | 'folder' | 'link' | undefined> {
    const slash = docPath.lastIndexOf('/');
    const dir = await this.#dir(slash <= 0 ? '/' : docPath.slice(0, slash));
    if (!dir) return undefined;
    try {
      const st = await fs.lstat(path.join(dir, docPath.slice(slash + 1)));
      return st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'folder' : 'file';
    } catch {
      return undefined;
    }
  }

  /** Files in a folder tree (symlinks not followed), counting at most `cap`. */
  async countFiles(dirDocPath: string, cap = 100_000): Promise<number> {
    let n = 0;
    const stack = [dirDocPath];
    while (stack.length > 0 && n < cap) {
      const dir = stack.pop()!;
      for (const e of await this.list(dir)) {
        if (e.isFile) n++;
        else if (e.isDirectory) stack.push(join(dir, e.name));
      }
    }
    return Math.min(n, cap);
  }
}

/** Document path of a name in a folder: join('/', 'a') → '/a', join('/a', 'b') → '/a/b'. */
export function join(dir: string, name: string): string {
  return dir === '/' ? '/' + name : dir + '/' + name;
}
