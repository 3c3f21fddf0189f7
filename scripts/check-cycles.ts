/**
 * Fails when the modules under src/ import each other in a cycle, type-only imports included (a
 * cycle through types is still two modules that cannot be understood apart).
 *
 * Written by hand, about 60 lines, because the usual tools cannot read this project: madge
 * (detective-typescript → @typescript-eslint/typescript-estree), dpdm and dependency-cruiser parse
 * TypeScript through the `typescript` package's JS compiler API, which typescript@7 (the Go-native
 * compiler this project builds with) does not ship (reference/stack.md §4). oxc-parser is the
 * parser knip itself uses; it reads TypeScript natively. Relative specifiers are written with `.js`
 * (nodenext) and name the `.ts` file beside them.
 *
 * Usage: node --import tsx scripts/check-cycles.ts [root=src]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseSync } from 'oxc-parser';

const root = path.resolve(process.argv[2] ?? 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The files under root that a module imports or re-exports, statically or dynamically. */
function importsOf(file: string): string[] {
  const { module, errors } = parseSync(file, fs.readFileSync(file, 'utf8'));
  if (errors.length > 0) throw new Error(`${file}: ${errors[0]!.message}`);
  const specifiers = [
    ...module.staticImports.map((i) => i.moduleRequest.value),
    ...module.staticExports.flatMap((e) => e.entries.map((x) => x.moduleRequest?.value)),
  ];
  const out = new Set<string>();
  for (const spec of specifiers) {
    if (!spec?.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
    if (fs.existsSync(target)) out.add(target);
  }
  return [...out];
}

const files = sources(root);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

// Tarjan's strongly connected components: every component of more than one module (or a module
// importing itself) is a cycle.
let index = 0;
const idx = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const onStack = new Set<string>();
const cycles: string[][] = [];
function visit(v: string): void {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
  }
  if (low.get(v) === idx.get(v)) {
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)!.includes(v)) cycles.push(component);
  }
}
for (const f of files) if (!idx.has(f)) visit(f);

const rel = (f: string) => path.relative(process.cwd(), f);
if (cycles.length > 0) {
  for (const c of cycles) console.error(`import cycle: ${c.map(rel).sort().join(' ↔ ')}`);
  console.error(`${cycles.length} import cycle(s) in ${rel(root)}`);
  process.exit(1);
}
console.log(`no import cycles in ${rel(root)} (${files.length} modules)`);
