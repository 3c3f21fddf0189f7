/**
 * Confinement to a docroot's real path (contract section 2): "farmgate never reads, writes,
 * touches or deletes anything outside a docroot's real path, whether or not a symlink inside the
 * docroot points elsewhere". Each folder is resolved with realpath before use; a folder whose real
 * path leaves the docroot is treated as absent.
 */
import { lstatSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { joinDocroot } from './doc-path.js';

export class Confinement {
  private constructor(
    /** The docroot as configured, resolved to an absolute path. */
    readonly docroot: string,
    readonly realDocroot: string,
  ) {}

  /** Creates the docroot folder if needed and resolves its real path. */
  static async open(docroot: string): Promise<Confinement> {
    await fs.mkdir(docroot, { recursive: true });
    return new Confinement(path.resolve(docroot), await fs.realpath(docroot));
  }

  /** For reading only (`farmgate explain`): undefined when the docroot does not exist; creates nothing. */
  static async existing(docroot: string): Promise<Confinement | undefined> {
    try {
      return new Confinement(path.resolve(docroot), await fs.realpath(docroot));
    } catch {
      return undefined;
    }
  }

  /**
   * The absolute path of a document path. Validated document paths (doc-path.ts) join by
   * concatenation, which the HIT path can afford on every request; anything with a `.` segment
   * goes through joinDocroot, which throws rather than leave the docroot.
   */
  abs(docPath: string): string {
    if (docPath === '/') return this.docroot;
    return docPath.includes('/.') ? joinDocroot(this.docroot, docPath) : this.docroot + docPath;
  }

  /** Is a real path inside the real docroot? */
  inside(real: string): boolean {
    return real === this.realDocroot || real.startsWith(this.realDocroot + path.sep);
  }

  /** The folder's real path if it exists and stays inside the docroot, else undefined. */
  async safeDir(absDir: string): Promise<string | undefined> {
    try {
      const real = await fs.realpath(absDir);
      return this.inside(real) ? real : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * `safeDir` without the thread-pool round trip, for the flush and fill paths (fs-store.ts says
   * why they are synchronous). A folder whose every component below the docroot is a real folder
   * (lstat: not a symlink) is inside it: one lstat per level, where realpath(3) resolves every
   * component of the whole path (~3x the time, measured). A symlink on the way (allowed when it
   * points inside) is settled by realpath. The docroot's own path is taken as resolved at start
   * when it is its real path; otherwise every check uses realpath.
   *
   * Folders found real are trusted for the rest of the event-loop turn (a flush's list, deletes
   * and `.stat` touches check the same chain of folders: one lstat per level instead of one per
   * level per step), unless the store renames or deletes a folder meanwhile (`forgetVerified`).
   * So the window in which another process could swap a checked folder for a symlink is one turn
   * of the loop, not one step.
   */
  safeDirSync(absDir: string): string | undefined {
    if (absDir === this.docroot) return this.docroot === this.realDocroot || this.#realInside(absDir) ? absDir : undefined;
    if (this.#verified.has(absDir)) return absDir;
    if (this.docroot !== this.realDocroot || !absDir.startsWith(this.docroot + path.sep)) return this.#realInside(absDir);
    for (let i = absDir.indexOf(path.sep, this.docroot.length + 1); ; i = absDir.indexOf(path.sep, i + 1)) {
      const prefix = i < 0 ? absDir : absDir.slice(0, i);
      if (i >= 0 && this.#verified.has(prefix)) continue;
      let st;
      try {
        st = lstatSync(prefix, { throwIfNoEntry: false });
      } catch {
        return undefined; // ENOTDIR: a file on the way
      }
      if (!st) return undefined;
      if (st.isSymbolicLink()) return this.#realInside(absDir);
      if (!st.isDirectory()) return undefined;
      this.#trust(prefix);
      if (i < 0) return absDir;
    }
  }

  /** The store renamed or deleted a folder: nothing checked before is trusted any more. */
  forgetVerified(): void {
    this.#verified.clear();
  }

  readonly #verified = new Set<string>();

  #trust(folder: string): void {
    if (this.#verified.size === 0) setImmediate(() => this.#verified.clear()).unref();
    this.#verified.add(folder);
  }

  #realInside(absDir: string): string | undefined {
    try {
      const real = realpathSync.native(absDir);
      return this.inside(real) ? real : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * mkdir -p for a folder inside the docroot, refusing to create anything below an existing
   * folder whose real path leaves the docroot ('refused'). 'collision' when a cached file stands
   * where a folder must be (`/a.png` cached, `/a.png/_jcr_content/…` asked for): nothing is
   * created. Synchronous, so no delete of this process can remove the folder before the caller's
   * next step (touching a `.stat`, opening a temporary file) uses it.
   */
  ensureDir(absDir: string): 'ok' | 'collision' | 'refused' {
    let existing = absDir;
    while (true) {
      let st;
      try {
        st = statSync(existing, { throwIfNoEntry: false });
      } catch (err) {
        // ENOTDIR: a file stands on the way.
        if (isCollision(err)) return 'collision';
        throw err;
      }
      if (st) {
        if (!st.isDirectory()) return 'collision';
        break;
      }
      const parent = path.dirname(existing);
      if (parent === existing) return 'refused';
      existing = parent;
    }
    if (!this.safeDirSync(existing)) return 'refused';
    if (existing !== absDir) {
      try {
        mkdirSync(absDir, { recursive: true });
      } catch (err) {
        // A file was stored on the way meanwhile (another process).
        if (isCollision(err)) return 'collision';
        throw err;
      }
    }
    return 'ok';
  }
}

/** A file where a folder must be, or a folder where a file must be. */
export function isCollision(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY';
}
