/**
 * Config loading: YAML → `${VAR}` substitution → zod strict schema → normalized, frozen Config.
 *
 * Every problem is reported as `FILE:LINE:COL path.to.key: message`, with LINE:COL taken from the
 * yaml library's node ranges (the offending key for unknown keys, the value otherwise).
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { configSchema } from './schema.js';
import { normalizeConfig, type Config, type SourcePosition } from './normalize.js';

export type Env = Readonly<Record<string, string | undefined>>;

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Reads and validates a config file. Throws ConfigError listing every problem. */
export async function loadConfig(file: string, env: Env = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? `no such file (in ${process.cwd()}); pass --config with the path of your farmgate.yaml (config/farmgate.yaml is a working example)`
        : code === 'EISDIR'
          ? 'it is a folder; pass --config with the path of the YAML file itself'
          : code === 'EACCES'
            ? 'permission denied; make it readable by the user farmgate runs as'
            : (err as Error).message;
    throw new ConfigError(file, [{ file, line: 1, col: 1, path: '', message: `cannot read config file: ${why}` }]);
  }
  return parseConfig(text, file, env);
}

/** Validates config text; `file` names it in messages and anchors relative paths. */
export function parseConfig(text: string, file: string, env: Env = process.env): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { line: pos.line, col: pos.col };
  };
  const problems: ConfigProblem[] = [];

  const syntaxLines = new Set<number>();
  for (const err of [...doc.errors, ...doc.warnings]) {
    const where = syntaxPosition(text, err.pos[0], at);
    // One syntax error tends to cause more on the same line; the first says what is wrong.
    if (syntaxLines.has(where.line)) continue;
    syntaxLines.add(where.line);
    problems.push({ file, ...where, path: '', message: syntaxMessage(text, err, where) });
  }
  if (problems.length > 0) throw new ConfigError(file, problems);

  substituteVariables(doc, env, (node, keyPath, message) => {
    problems.push({ file, ...at(node.range?.[0]), path: keyPath.join('.'), message });
  });

  const raw: unknown = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    // A missing ${VAR} already explains its value; do not pile schema complaints on top of it.
    const varPaths = new Set(problems.map((p) => p.path));
    for (const issue of parsed.error.issues) {
      for (const p of locateIssue(doc, issue, file, at)) if (!varPaths.has(p.path)) problems.push(p);
    }
  }
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ConfigError(file, dedupe(problems));
  }

  return normalizeConfig(parsed.data!, {
    configDir: path.dirname(path.resolve(file)),
    defaultName: hostname(),
    file,
    positions: positionsOf(doc, at),
  });
}

/** Every node's start, by dotted key path (a pair without a value: its key). */
function positionsOf(doc: Document, at: At): Record<string, SourcePosition> {
  const out: Record<string, SourcePosition> = {};
  const walk = (node: unknown, keyPath: (string | number)[]) => {
    const n = node as YamlNode | null | undefined;
    if (n?.range) out[keyPath.join('.')] = at(n.range[0]);
    if (isMap(n)) {
      for (const pair of n.items) {
        if (!isScalar(pair.key)) continue;
        walk(pair.value ?? pair.key, [...keyPath, String(pair.key.value)]);
      }
    } else if (isSeq(n)) n.items.forEach((item, i) => walk(item, [...keyPath, i]));
  };
  walk(doc.contents, []);
  return out;
}

/** Replaces `${VAR}` in every scalar string, in place; a missing variable is reported. */
function substituteVariables(
  doc: Document,
  env: Env,
  report: (node: YamlNode, keyPath: (string | number)[], message: string) => void,
): void {
  visit(doc, {
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const keyPath = pathOf(ancestry, node);
      const isKey = ancestry.length > 0 && isPair(ancestry.at(-1)) && (ancestry.at(-1) as { key: unknown }).key === node;
      if (isKey) return;
      node.value = node.value.replace(VAR, (_m, name: string) => {
        const value = env[name];
        if (value === undefined) {
          report(node, keyPath, `environment variable \${${name}} is not set`);
          return '';
        }
        return value;
      });
    },
  });
}

function pathOf(ancestry: readonly unknown[], leaf: unknown): (string | number)[] {
  const out: (string | number)[] = [];
  const chain = [...ancestry, leaf];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isSeq(parent)) out.push(parent.items.indexOf(child as never));
    else if (isPair(parent) && parent.value === child && isScalar(parent.key)) out.push(String(parent.key.value));
  }
  return out;
}

type At = (offset: number | undefined) => { line: number; col: number };

/** Maps a zod issue to one or more located problems. */
function locateIssue(doc: Document, issue: z.core.$ZodIssue, file: string, at: At): ConfigProblem[] {
  const keyPath = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (issue.code === 'unrecognized_keys') {
    const parent = nodeAt(doc, keyPath);
    const known = knownKeys(configSchema, keyPath);
    return issue.keys.map((key) => {
      const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
      const node = (pair?.key as YamlNode | undefined) ?? parent;
      const hint = suggestKey(key, known) ?? nestedHome(keyPath, key, known);
      const message = `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : known.length ? ` (expected one of ${known.join(', ')})` : ''}`;
      return { file, ...at(node?.range?.[0]), path: [...keyPath, key].join('.'), message };
    });
  }
  // Walk up to the deepest node that exists (a missing key is reported at its parent).
  let node: YamlNode | undefined;
  for (let n = keyPath.length; n >= 0 && !node; n--) node = nodeAt(doc, keyPath.slice(0, n));
  return [{ file, ...at(node?.range?.[0]), path: keyPath.join('.'), message: messageOf(issue) }];
}

function nodeAt(doc: Document, keyPath: (string | number)[]): YamlNode | undefined {
  if (keyPath.length === 0) return (doc.contents as YamlNode | null) ?? undefined;
  const node = doc.getIn(keyPath, true) as YamlNode | undefined;
  return node && typeof node === 'object' && 'range' in node ? node : undefined;
}

function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    const received = (issue as { input?: unknown }).input;
    if (received === undefined) return `required (expected ${issue.expected})`;
    return `expected ${issue.expected}, got ${describe(received)}`;
  }
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  // Unions with a message of their own (rule values) say what is expected; others say little.
  if (issue.code === 'invalid_union') return issue.message.startsWith('expected') ? issue.message : `invalid value: ${issue.message}`;
  return issue.message;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return typeof v === 'object' ? 'object' : `${typeof v} ${String(v)}`;
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.line}:${p.col}:${p.path}:${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Where a YAML syntax error really is. The yaml library puts indentation errors at the start of
 * the offending line's whitespace (column 1); the user needs the column of what is misplaced.
 */
function syntaxPosition(text: string, offset: number, at: At): { line: number; col: number } {
  let i = offset;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  return at(i < text.length && text[i] !== '\n' && text[i] !== '\r' ? i : offset);
}

/** The yaml library's first message line, plus the column the siblings use for indentation errors. */
function syntaxMessage(text: string, err: { code: string; message: string }, where: { line: number; col: number }): string {
  const message = err.message.split('\n')[0] ?? err.message;
  if (err.code !== 'BAD_INDENT' && !/indent|without - indicator/i.test(message)) return message;
  const lines = text.split(/\r?\n/);
  for (let n = where.line - 2; n >= 0; n--) {
    const line = lines[n]!;
    const trimmed = line.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const col = line.length - trimmed.length + 1;
    if (col === where.col) break;
    const parent = col < where.col && /:\s*(#.*)?$/.test(trimmed);
    return `${message} (this line starts at column ${where.col}; line ${n + 1} ${parent ? 'opens the mapping' : 'starts'} at column ${col})`;
  }
  return message;
}

/**
 * The keys a strict object of the schema accepts at a key path (list indices skip into the
 * item schema), for "did you mean". Walks zod's public definitions; empty when unknown.
 */
export function knownKeys(schema: z.ZodType, keyPath: readonly (string | number)[]): string[] {
  let current: z.ZodType[] = [schema];
  for (const step of [...keyPath, undefined]) {
    const next: z.ZodType[] = [];
    for (const s of current.flatMap(unwrap)) {
      const def = s._zod.def as { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType };
      if (step === undefined) {
        if (def.type === 'object' && def.shape) next.push(s);
      } else if (typeof step === 'number' && def.type === 'array' && def.element) next.push(def.element);
      else if (typeof step === 'string' && def.type === 'object' && def.shape?.[step]) next.push(def.shape[step]);
    }
    current = next;
  }
  const keys = new Set<string>();
  for (const s of current) for (const k of Object.keys((s._zod.def as unknown as { shape: object }).shape)) keys.add(k);
  return [...keys];
}

/** Defaults, optionals, pipes and unions hide the object schemas a value is checked against. */
function unwrap(s: z.ZodType): z.ZodType[] {
  const def = s._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType; options?: z.ZodType[] };
  if (def.innerType && ['default', 'optional', 'nullable', 'prefault', 'catch', 'readonly', 'nonoptional'].includes(def.type)) return unwrap(def.innerType);
  if (def.type === 'pipe' && def.in) return unwrap(def.in);
  if (def.type === 'union' && def.options) return def.options.flatMap(unwrap);
  return [s];
}

/** A key written one level too high, e.g. `statfileslevel` beside `cache`: → `cache.statfileslevel`. */
function nestedHome(keyPath: readonly (string | number)[], key: string, known: readonly string[]): string | undefined {
  for (const parent of known) {
    for (const step of [[parent], [parent, 0]]) {
      const child = knownKeys(configSchema, [...keyPath, ...step]);
      if (child.includes(key)) return `${parent}.${key}`;
    }
  }
  return undefined;
}

/**
 * The known key closest to a typo, when it is close enough to be what was meant: at most a third
 * of the key's letters wrong (at least one), or the same letters in another case.
 * fastest-levenshtein measures the distance; the threshold is ours.
 */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const sameCase = known.find((k) => k.toLowerCase() === key.toLowerCase());
  if (sameCase) return sameCase;
  const best = closest(key, [...known]);
  return distance(key, best) <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}
