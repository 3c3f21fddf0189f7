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
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { configSchema } from './schema.js';
import { normalizeConfig, type Config } from './normalize.js';

export type Env = Readonly<Record<string, string | undefined>>;

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Reads and validates a config file. Throws ConfigError listing every problem. */
export async function loadConfig(file: string, env: Env = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ file, line: 1, col: 1, path: '', message: `cannot read config: ${(err as Error).message}` }]);
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

  for (const err of [...doc.errors, ...doc.warnings]) {
    problems.push({ file, ...at(err.pos[0]), path: '', message: err.message.split('\n')[0] ?? err.message });
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
  });
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
    return issue.keys.map((key) => {
      const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
      const node = (pair?.key as YamlNode | undefined) ?? parent;
      return { file, ...at(node?.range?.[0]), path: [...keyPath, key].join('.'), message: `unknown key "${key}"` };
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
