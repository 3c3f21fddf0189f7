/**
 * `/virtualhosts` and `/renders` of a farm.
 */
import { listValues, properties, scalarOf, type Block, type Property, type Scalar } from './ast.js';
import { convertHostGlob } from './globs.js';
import { hasVar, numberOf, quoted, type Env, type Warnings } from './notes.js';

/**
 * `[scheme]host[uri][*]` entries → Host globs. farmgate selects a farm by Host alone, so a
 * scheme or URI part is dropped with a warning.
 */
export function convertVirtualhosts(value: Block | Scalar, w: Warnings): string[] {
  const entries = value.kind === 'scalar' ? [value] : listValues(value);
  const out: string[] = [];
  for (const s of entries) {
    let text = s.text.trim();
    const scheme = /^([a-z]+):\/\//i.exec(text);
    if (scheme) {
      text = text.slice(scheme[0].length);
      w.add(s.loc, `/virtualhosts ${quoted(s)}: the scheme ${scheme[1]}:// is not carried over (farmgate matches the Host header only)`);
    }
    const slash = text.indexOf('/');
    if (slash >= 0) {
      const uri = text.slice(slash);
      text = text.slice(0, slash);
      if (uri !== '/*' && uri !== '/') {
        w.add(s.loc, `/virtualhosts ${quoted(s)}: the URI part "${uri}" is not carried over (farmgate selects farms by Host only; split the site with filter rules instead)`);
      }
    }
    if (text === '') continue;
    const c = convertHostGlob(text);
    if ('error' in c) w.add(s.loc, `/virtualhosts ${quoted(s)} not carried over: ${c.error}`);
    else if (!out.includes(c.glob)) out.push(c.glob);
  }
  return out;
}

/** The bare host names of `/virtualhosts`, lower-cased, for recognising a flush-only farm. */
export function hostNames(value: Block | Scalar): string[] {
  const entries = value.kind === 'scalar' ? [value] : listValues(value);
  return entries.map((s) => s.text.trim().replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase());
}

export interface RenderOut {
  readonly url: string;
  connectTimeoutMs?: number;
  timeoutMs?: number;
}

const RENDER_SKIPPED: Record<string, string> = {
  ipv4: 'farmgate resolves host names as Node does',
  'always-resolve': 'farmgate resolves host names as Node does',
};

/**
 * `/renders { /r1 { /hostname /port /secure /timeout /receiveTimeout } }` →
 * `{ url, connectTimeoutMs, timeoutMs }`. Dispatcher's `/timeout` is the connect timeout
 * (0 = none) and `/receiveTimeout` the wait for the response (default 600000 ms); farmgate's
 * `connectTimeoutMs` and `timeoutMs` mean the same, so each is carried as it is.
 */
export function convertRenders(block: Block, env: Env, w: Warnings): RenderOut[] {
  const out: RenderOut[] = [];
  for (const item of block.items) {
    if (item.kind === 'scalar' || item.value.kind !== 'block') {
      w.add(item.loc, `/renders entry ${item.kind === 'scalar' ? quoted(item) : `/${item.name}`} not carried over: expected /name { /hostname "…" /port "…" }`);
      continue;
    }
    const r = render(item, item.value, env, w);
    if (r) out.push(r);
  }
  return out;
}

function render(p: Property, block: Block, env: Env, w: Warnings): RenderOut | undefined {
  const host = scalarOf(block, 'hostname');
  if (!host) {
    w.skip(p, 'a render needs /hostname');
    return undefined;
  }
  const port = scalarOf(block, 'port');
  const secure = scalarOf(block, 'secure')?.text === '1';
  const hostname = host.text.includes(':') && !host.text.startsWith('[') && !host.text.includes('${') ? `[${host.text}]` : host.text;
  const r: RenderOut = { url: `${secure ? 'https' : 'http'}://${hostname}${port ? `:${port.text}` : ''}` };
  for (const [name, key, unlimited] of [
    ['timeout', 'connectTimeoutMs', 'no limit on connecting'],
    ['receiveTimeout', 'timeoutMs', 'no limit on waiting for the response'],
  ] as const) {
    const s = scalarOf(block, name);
    if (!s) continue;
    const ms = numberOf(s, env);
    if (ms !== undefined && ms > 0) r[key] = ms;
    else if (ms === 0) {
      w.add(s.loc, `/${name} "0" of render /${p.name} (${unlimited}) not carried over: farmgate always has a limit; ${key} keeps its default (${key === 'timeoutMs' ? 10000 : 2000}); raise it if the render needs longer`);
    } else {
      w.add(s.loc, `/${name} ${quoted(s)} of render /${p.name} not carried over: ${hasVar(s) ? 'its variable is not set in the import environment and ' : ''}farmgate needs a number of milliseconds; ${key} keeps its default`);
    }
  }
  if (!scalarOf(block, 'receiveTimeout')) {
    w.add(p.loc, `note: render /${p.name} has no /receiveTimeout, so Dispatcher waits up to 600000 ms (its default) for a response; farmgate's timeoutMs defaults to 10000 ms: set timeoutMs if your pages can take longer`);
  }
  for (const q of properties(block)) {
    if (['hostname', 'port', 'secure', 'timeout', 'receiveTimeout'].includes(q.name)) continue;
    w.skip(q, RENDER_SKIPPED[q.name] ?? 'not a farmgate render setting');
  }
  return r;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `/clientheaders { "referer" "cookie" … }` → `clientHeaders`: the request headers passed to
 * the render (`"*"` = all). Names are case-insensitive, as in HTTP.
 */
export function convertClientHeaders(value: Block | Scalar, w: Warnings): string[] {
  const entries = value.kind === 'scalar' ? [value] : listValues(value);
  const out: string[] = [];
  for (const s of entries) {
    const name = s.text.trim();
    if (name === '*') return ['*'];
    if (!HEADER_NAME.test(name)) {
      w.add(s.loc, `/clientheaders ${quoted(s)} not carried over: not a header name; that header no longer reaches the render`);
      continue;
    }
    if (!out.some((n) => n.toLowerCase() === name.toLowerCase())) out.push(name);
  }
  return out;
}
