/**
 * The tag index in memory: which cached files carry a tag, and which tags a file carries. Pure
 * data structure, no I/O (tag-store.ts persists it).
 *
 * Costs, so that "invalidating a tag costs time in proportion to the files carrying it, not to
 * the cache size" (issue 15):
 * - `files(tag)`: O(1) to the set of files carrying it;
 * - `set`/`forget` a file: O(its tags);
 * - `forgetUnder(folder)` (a flush deleting a folder tree): O(tagged files below that folder),
 *   through a tree of folders, never a scan of every indexed file.
 */

interface Folder {
  readonly parent: Folder | undefined;
  readonly name: string;
  readonly folders: Map<string, Folder>;
  /** Tagged files directly in this folder (document paths). */
  readonly files: Set<string>;
}

export interface IndexStats {
  /** Files carrying at least one tag. */
  readonly files: number;
  /** Distinct tags. */
  readonly tags: number;
  /** (file, tag) pairs. */
  readonly postings: number;
}

export class TagIndex {
  readonly #byTag = new Map<string, Set<string>>();
  readonly #byFile = new Map<string, readonly string[]>();
  #root: Folder = newFolder(undefined, '');
  #postings = 0;

  /**
   * The file now carries exactly these tags (it was stored again: its old tags are replaced).
   * An empty list forgets the file.
   */
  set(docPath: string, tags: readonly string[]): void {
    this.forget(docPath);
    if (tags.length === 0) return;
    const own = Object.freeze([...new Set(tags)]);
    this.#byFile.set(docPath, own);
    for (const tag of own) {
      let files = this.#byTag.get(tag);
      if (!files) this.#byTag.set(tag, (files = new Set()));
      files.add(docPath);
    }
    this.#postings += own.length;
    this.#folderOf(docPath, true)!.files.add(docPath);
  }

  /** The file was deleted: it carries nothing any more. Returns whether it was indexed. */
  forget(docPath: string): boolean {
    const tags = this.#byFile.get(docPath);
    if (!tags) return false;
    this.#byFile.delete(docPath);
    this.#unpost(docPath, tags);
    const folder = this.#folderOf(docPath, false);
    if (folder) {
      folder.files.delete(docPath);
      prune(folder);
    }
    return true;
  }

  /**
   * A folder was deleted with everything in it: forget every indexed file at or below it
   * (`/` forgets everything). A file named like the folder (`/a` for folder `/a`) goes too:
   * it is the folder's own path. Returns the document paths forgotten.
   */
  forgetUnder(dirDocPath: string): string[] {
    if (dirDocPath === '/' || dirDocPath === '') {
      const all = [...this.#byFile.keys()];
      this.clear();
      return all;
    }
    const gone: string[] = [];
    if (this.forget(dirDocPath)) gone.push(dirDocPath);
    const folder = this.#find(dirDocPath);
    if (!folder) return gone;
    const stack = [folder];
    while (stack.length > 0) {
      const f = stack.pop()!;
      for (const docPath of f.files) {
        const tags = this.#byFile.get(docPath);
        if (tags) {
          this.#byFile.delete(docPath);
          this.#unpost(docPath, tags);
          gone.push(docPath);
        }
      }
      for (const child of f.folders.values()) stack.push(child);
    }
    folder.parent?.folders.delete(folder.name);
    if (folder.parent) prune(folder.parent);
    return gone;
  }

  clear(): void {
    this.#byTag.clear();
    this.#byFile.clear();
    this.#root = newFolder(undefined, '');
    this.#postings = 0;
  }

  /** The files carrying a tag (a live view: copy it before deleting files). */
  files(tag: string): ReadonlySet<string> {
    return this.#byTag.get(tag) ?? EMPTY;
  }

  tagsOf(docPath: string): readonly string[] | undefined {
    return this.#byFile.get(docPath);
  }

  /** Every indexed file with its tags (snapshots). */
  entries(): IterableIterator<[string, readonly string[]]> {
    return this.#byFile.entries();
  }

  stats(): IndexStats {
    return { files: this.#byFile.size, tags: this.#byTag.size, postings: this.#postings };
  }

  #unpost(docPath: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const files = this.#byTag.get(tag);
      if (!files) continue;
      files.delete(docPath);
      if (files.size === 0) this.#byTag.delete(tag);
    }
    this.#postings -= tags.length;
  }

  #find(dirDocPath: string): Folder | undefined {
    let f: Folder | undefined = this.#root;
    for (const name of segments(dirDocPath)) {
      f = f.folders.get(name);
      if (!f) return undefined;
    }
    return f;
  }

  #folderOf(docPath: string, create: boolean): Folder | undefined {
    const names = segments(docPath);
    names.pop();
    let f = this.#root;
    for (const name of names) {
      let next = f.folders.get(name);
      if (!next) {
        if (!create) return undefined;
        f.folders.set(name, (next = newFolder(f, name)));
      }
      f = next;
    }
    return f;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function newFolder(parent: Folder | undefined, name: string): Folder {
  return { parent, name, folders: new Map(), files: new Set() };
}

function segments(docPath: string): string[] {
  return docPath.split('/').filter((s) => s !== '');
}

/** Drops empty folders upwards, so the tree holds only folders with tagged files below them. */
function prune(folder: Folder): void {
  let f: Folder | undefined = folder;
  while (f?.parent && f.files.size === 0 && f.folders.size === 0) {
    f.parent.folders.delete(f.name);
    f = f.parent;
  }
}
