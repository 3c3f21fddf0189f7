/**
 * The admin API's tag lookups (`/admin/api/tags`): the tags a cached file carries, or the cached
 * files carrying a tag (what a tag invalidation would delete), from the running server's tag index.
 * Plain functions returning JSON-ready values; admin.ts routes them, the admin page shows them.
 */
import { toDocPath } from '../cache/doc-path.js';
import { AppError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { tagProblem } from '../tags/parse.js';

export const TAG_FILES_SAMPLE = 50;

export interface FileTagsJson {
  readonly path: string;
  readonly farms: { farm: string; cached: boolean; tags: readonly string[] }[];
}

export interface TagFilesJson {
  readonly tag: string;
  readonly farms: { farm: string; count: number; sample: string[]; rebuilding: boolean }[];
}

export function tagsLookup(rt: Runtime, input: Record<string, unknown>): FileTagsJson | TagFilesJson {
  const str = (k: string) => (typeof input[k] === 'string' && input[k] !== '' ? (input[k] as string).trim() : undefined);
  const only = str('farm');
  const farms = rt.farms.filter((f) => !only || f.name === only);
  if (only && farms.length === 0) throw new AppError('FG_ADMIN_BAD_INPUT', `no farm named ${JSON.stringify(only)}`);
  const tag = str('tag');
  const filePath = str('path');
  if (tag !== undefined) {
    const problem = tagProblem(tag);
    if (problem) throw new AppError('FG_ADMIN_BAD_INPUT', `invalid tag: ${problem}`);
    return {
      tag,
      farms: farms.map((f) => {
        const index = rt.tagsFor(f);
        const files = [...index.filesWithNow(tag)].sort();
        return { farm: f.name, count: files.length, sample: files.slice(0, TAG_FILES_SAMPLE), rebuilding: index.status().rebuilding };
      }),
    };
  }
  if (filePath !== undefined) {
    const doc = toDocPath(filePath.split('?')[0]!);
    if (!doc.ok) throw new AppError('FG_ADMIN_BAD_INPUT', `invalid path: ${doc.reason}`);
    return {
      path: doc.docPath,
      farms: farms.map((f) => {
        const tags = rt.tagsFor(f).tagsOf(doc.docPath);
        return { farm: f.name, cached: tags !== undefined, tags: tags ?? [] };
      }),
    };
  }
  throw new AppError('FG_ADMIN_BAD_INPUT', 'give "path" (a cached file) or "tag"');
}
