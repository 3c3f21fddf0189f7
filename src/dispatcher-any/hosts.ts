/**
 * `/virtualhosts` and `/renders` of a farm.
 */
import { listValues, properties, scalarOf, type Block, type Property, type Scalar } from './ast.js';
import type { Env } from './cache.js';
import { convertGlob } from './globs.js';
import { numberOf, quoted, type Warnings } from './notes.js';

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
    const c = convertGlob(text, 'word');
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
  timeoutMs?: number;
}

const RENDER_SKIPPED: Record<string, string> = {
  ipv4: 'farmgate resolves host names as Node does',
  'always-resolve': 'farmgate resolves host names as Node does',
};

/**
 * `/renders { /r1 { /hostname /port /secure /timeout /receiveTimeout } }` → `{ url, timeoutMs }`.
 * Dispatcher's `/timeout` is the connect timeout and `/receiveTimeout` the wait for the
 * response; farmgate has one timeout (to the response headers, and between body bytes), so
 * `/receiveTimeout` wins when both are set.
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
  const timeout = scalarOf(block, 'timeout');
  const receive = scalarOf(block, 'receiveTimeout');
  const connectMs = timeout ? numberOf(timeout, env) : undefined;
  const receiveMs = receive ? numberOf(receive, env) : undefined;
  if (receiveMs !== undefined && receiveMs > 0) {
    r.timeoutMs = receiveMs;
    if (timeout) w.add(timeout.loc, `/timeout (connect timeout) of render /${p.name} not carried over: farmgate has one render timeout, taken from /receiveTimeout`);
  } else if (connectMs !== undefined && connectMs > 0) {
    r.timeoutMs = connectMs;
    w.add(timeout!.loc, `note: /timeout ${connectMs} of render /${p.name} (Dispatcher's connect timeout) became timeoutMs, farmgate's wait for the response headers and between body bytes`);
  } else if (timeout || receive) {
    const s = (receive ?? timeout)!;
    w.add(s.loc, `/${receive ? 'receiveTimeout' : 'timeout'} ${quoted(s)} of render /${p.name} not carried over: farmgate has no unlimited or variable timeout; timeoutMs defaults to 10000`);
  }
  for (const q of properties(block)) {
    if (['hostname', 'port', 'secure', 'timeout', 'receiveTimeout'].includes(q.name)) continue;
    w.skip(q, RENDER_SKIPPED[q.name] ?? 'not a farmgate render setting');
  }
  return r;
}
