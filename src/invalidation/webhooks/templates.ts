/**
 * `paths` templates of a webhook → flush handles. Pure.
 *
 * A template is an absolute path with `{name}` placeholders (`/content/site-a{path}`); each set of
 * values an event yields (one per culture or locale) fills every template whose placeholders all
 * have a value. The result is checked like a flush handle: a CMS value holding `..`, a query or a
 * control character never becomes a path (it is reported instead), so a signed but hostile payload
 * still cannot reach outside a docroot.
 */
import { parseHandle } from '../../flush/parse.js';

export type TemplateValues = Readonly<Record<string, string | number | undefined | null>>;

export function expandTemplates(templates: readonly string[], valueSets: readonly TemplateValues[]): { paths: string[]; refused: string[] } {
  const paths = new Set<string>();
  const refused: string[] = [];
  for (const template of templates) {
    const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    for (const values of names.length === 0 ? [{}] : valueSets) {
      let ok = true;
      const filled = template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
        const v = values[name];
        if (v === undefined || v === null || String(v).trim() === '') ok = false;
        return ok ? String(v).trim() : '';
      });
      if (!ok) continue;
      const handle = /[?#]/.test(filled) ? undefined : parseHandle(filled.replace(/\/{2,}/g, '/'));
      if (handle?.ok) paths.add(handle.handle);
      else refused.push(filled.slice(0, 300));
    }
  }
  return { paths: [...paths], refused };
}
