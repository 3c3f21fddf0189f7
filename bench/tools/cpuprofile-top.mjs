/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function (top N) and the total
 * time spent under chosen functions (inclusive), so a profile can be read without DevTools.
 *   node bench/tools/cpuprofile-top.mjs FILE.cpuprofile [N=30] [--under name1,name2,...] [--last SECONDS]
 * (--last: only the samples of the profile's last SECONDS, e.g. the flushes after a warm-up).
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args[0];
if (!file) {
  console.error('usage: cpuprofile-top.mjs FILE.cpuprofile [N] [--under fn1,fn2]');
  process.exit(2);
}
const top = Number(args.find((a, i) => i > 0 && /^\d+$/.test(a) && args[i - 1] !== '--last') ?? 30);
const underIdx = args.indexOf('--under');
const under = underIdx >= 0 ? args[underIdx + 1].split(',') : [];
const lastIdx = args.indexOf('--last');
const lastUs = lastIdx >= 0 ? Number(args[lastIdx + 1]) * 1e6 : Infinity;

const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
// Sample i lasted timeDeltas[i + 1] (V8's convention: the delta before the next sample).
const selfUs = new Map();
const from = prof.endTime - lastUs;
let t = prof.startTime;
for (let i = 0; i < prof.samples.length; i++) {
  t += prof.timeDeltas[i] ?? 0;
  if (t < from) continue;
  const id = prof.samples[i];
  const dt = prof.timeDeltas[i + 1] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const label = (n) => {
  const f = n.callFrame;
  const url = f.url.replace(/^.*\/(node_modules\/[^/]+|src|\.build)\//, '$1/').replace(/^node:/, '');
  return `${f.functionName || '(anonymous)'} ${url}:${f.lineNumber + 1}`;
};
const perFn = new Map();
for (const [id, us] of selfUs) {
  const k = label(byId.get(id));
  perFn.set(k, (perFn.get(k) ?? 0) + us);
}
const idle = [...selfUs].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
console.log(`total ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms, busy ${((total - idle) / 1000).toFixed(0)} ms`);
console.log(`self time, top ${top} (share of busy):`);
for (const [k, us] of [...perFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  if (k.startsWith('(idle)')) continue;
  console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / (total - idle)).toFixed(1).padStart(5)} %  ${k}`);
}
if (under.length) {
  console.log('inclusive time under (share of busy):');
  for (const name of under) {
    let us = 0;
    for (const [id, t] of selfUs) {
      for (let p = id; p !== undefined; p = parent.get(p)) {
        if (byId.get(p).callFrame.functionName === name) {
          us += t;
          break;
        }
      }
    }
    console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / (total - idle)).toFixed(1).padStart(5)} %  ${name}`);
  }
}
