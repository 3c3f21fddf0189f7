/**
 * Plain data → a Lua source literal (farmgate_config.lua). Strings become quoted Lua strings
 * with every byte outside printable ASCII written as a decimal escape, so the file is ASCII and
 * means the same to LuaJIT and Lua 5.3.
 */

export function luaString(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${String(b).padStart(3, '0')}`;
  }
  return out + '"';
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KEYWORDS = new Set(['and', 'break', 'do', 'else', 'elseif', 'end', 'false', 'for', 'function', 'goto', 'if', 'in', 'local', 'nil', 'not', 'or', 'repeat', 'return', 'then', 'true', 'until', 'while']);

/** A Lua expression for a JSON-like value (undefined fields are left out; arrays are 1-based lists). */
export function toLua(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`toLua: ${value} is not a finite number`);
    return String(value);
  }
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '{}';
    const simple = value.every((v) => typeof v !== 'object' || v === null);
    if (simple) return `{ ${value.map((v) => toLua(v)).join(', ')} }`;
    return `{\n${value.map((v) => inner + toLua(v, inner)).join(',\n')}\n${indent}}`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const key = (k: string) => (IDENT.test(k) && !KEYWORDS.has(k) ? k : `[${luaString(k)}]`);
    return `{\n${entries.map(([k, v]) => `${inner}${key(k)} = ${toLua(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  throw new Error(`toLua: cannot write ${typeof value}`);
}
