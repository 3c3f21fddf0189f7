/**
 * The tag index's on-disk records. Pure: encode and decode, nothing else.
 *
 * Two files per docroot (tag-store.ts says where and why):
 * - `snapshot.jsonl`: a header line `{"farmgateTags":1,"docroot":"/real/docroot","files":N}`,
 *   then one line per tagged file: `["/content/a/en.html",["page-1","nav"]]`;
 * - `journal.jsonl`: what changed since the snapshot, one operation per line, appended:
 *   `["s",docPath,[tags]]` (the file was stored with these tags), `["d",docPath]` (the file was
 *   deleted), `["u",folder]` (a folder was deleted with everything below it).
 *
 * JSON lines, because a tag may hold any printable character but a space or comma (quotes,
 * brackets, non-ASCII): the encoding is unambiguous, never a concatenation that two different
 * records could share (style anchors §4, reply-from GHSA-v574). Every record read back is checked
 * like a request: a document path with `..` or `.` segments, a backslash or a NUL, or a tag that
 * breaks the tag rule, is refused, so a damaged or tampered file can never make a tag name a file
 * outside the docroot.
 */
import { handleProblem } from '../cache/doc-path.js';
import { decodeTags } from '../cache/sidecars.js';
import { MAX_TAGS_PER_FILE, tagProblem } from './parse.js';

export const FORMAT_VERSION = 1;

export type JournalOp =
  | { readonly op: 'set'; readonly docPath: string; readonly tags: readonly string[] }
  | { readonly op: 'forget'; readonly docPath: string }
  | { readonly op: 'forgetUnder'; readonly docPath: string };

export interface SnapshotHeader {
  readonly farmgateTags: typeof FORMAT_VERSION;
  readonly docroot: string;
  readonly files: number;
}

export function encodeOp(op: JournalOp): string {
  switch (op.op) {
    case 'set':
      return JSON.stringify(['s', op.docPath, op.tags]) + '\n';
    case 'forget':
      return JSON.stringify(['d', op.docPath]) + '\n';
    case 'forgetUnder':
      return JSON.stringify(['u', op.docPath]) + '\n';
  }
}

export function encodeSnapshotHeader(docroot: string, files: number): string {
  const header: SnapshotHeader = { farmgateTags: FORMAT_VERSION, docroot, files };
  return JSON.stringify(header) + '\n';
}

export function encodeSnapshotEntry(docPath: string, tags: readonly string[]): string {
  return JSON.stringify([docPath, tags]) + '\n';
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** One journal line → an operation, or why it is refused. */
export function decodeOp(line: string): Decoded<JournalOp> {
  const raw = parseJson(line);
  if (!Array.isArray(raw) || typeof raw[0] !== 'string') return { ok: false, reason: 'not a journal record' };
  const [kind, docPath, tags] = raw as [string, unknown, unknown];
  const path = checkDocPath(docPath);
  if (!path.ok) return path;
  if (kind === 's' && raw.length === 3) {
    const t = checkTags(tags);
    return t.ok ? { ok: true, value: { op: 'set', docPath: path.value, tags: t.value } } : t;
  }
  if (kind === 'd' && raw.length === 2) return { ok: true, value: { op: 'forget', docPath: path.value } };
  if (kind === 'u' && raw.length === 2) return { ok: true, value: { op: 'forgetUnder', docPath: path.value } };
  return { ok: false, reason: `unknown journal record ${JSON.stringify(kind)}` };
}

export function decodeSnapshotHeader(line: string): Decoded<SnapshotHeader> {
  const raw = parseJson(line) as Partial<SnapshotHeader> | undefined;
  if (!raw || typeof raw !== 'object' || raw.farmgateTags !== FORMAT_VERSION || typeof raw.docroot !== 'string' || typeof raw.files !== 'number') {
    return { ok: false, reason: 'not a farmgate tag snapshot of this version' };
  }
  return { ok: true, value: { farmgateTags: FORMAT_VERSION, docroot: raw.docroot, files: raw.files } };
}

export function decodeSnapshotEntry(line: string): Decoded<{ docPath: string; tags: readonly string[] }> {
  const raw = parseJson(line);
  if (!Array.isArray(raw) || raw.length !== 2) return { ok: false, reason: 'not a snapshot record' };
  const path = checkDocPath(raw[0]);
  if (!path.ok) return path;
  const t = checkTags(raw[1]);
  return t.ok ? { ok: true, value: { docPath: path.value, tags: t.value } } : t;
}

/** A document path as stored: absolute, no `.`/`..` segments, no trailing slash. */
export function checkDocPath(value: unknown): Decoded<string> {
  if (typeof value !== 'string' || value.length < 2 || value.endsWith('/')) return { ok: false, reason: 'expected a document path' };
  const problem = handleProblem(value);
  return problem ? { ok: false, reason: `${problem}: ${JSON.stringify(value.slice(0, 200))}` } : { ok: true, value };
}

/** The valid tags a cached file's `.h` lists (cache/sidecars.ts decodeTags); none when they are not valid. */
export function storedTags(hText: string | undefined): readonly string[] {
  const raw = decodeTags(hText);
  if (raw === undefined) return [];
  const checked = checkTags(raw);
  return checked.ok ? checked.value : [];
}

/** The tags of one file as stored: each one a valid tag, at most MAX_TAGS_PER_FILE. */
export function checkTags(value: unknown): Decoded<readonly string[]> {
  if (!Array.isArray(value) || value.length > MAX_TAGS_PER_FILE) return { ok: false, reason: 'expected a list of tags' };
  for (const t of value) {
    if (typeof t !== 'string') return { ok: false, reason: 'expected a list of tags' };
    const problem = tagProblem(t);
    if (problem) return { ok: false, reason: problem };
  }
  return { ok: true, value: value as string[] };
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
