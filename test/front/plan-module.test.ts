/**
 * farmgate_plan.h, the half of the fronts' C fast paths that is no server's: the plan text the
 * Lua hands over (parsed exactly, or refused), the freshness rule (the same verdict as
 * cache/stat-files.ts freshness() over a grid of cases, on real files), farmgate's millisecond
 * rounding (as msOf), the auth-cookie check (never narrower than the Lua's) and the bounded
 * table. Compiled with the system's C compiler into a small harness that answers one line per
 * command on stdin.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshness } from '../../src/cache/stat-files.js';
import { hasAuthCookie } from '../../src/cache/policy.js';
import { binaryPath } from '../../support/front-servers.js';

const HARNESS = `
#include "farmgate_plan.h"
#include <stdio.h>

static size_t unhex(const char *h, char *out) {
    size_t n = 0;
    while (h[0] && h[1] && h[0] != '\\n') { unsigned v; sscanf(h, "%2x", &v); out[n++] = (char)v; h += 2; }
    return n;
}

int main(void) {
    static char line[1 << 16], buf[1 << 16];
    fg_table *t = NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "ms ", 3) == 0) {
            struct timespec ts; long long s, ns;
            sscanf(line + 3, "%lld %lld", &s, &ns); ts.tv_sec = s; ts.tv_nsec = ns;
            printf("%lld\\n", (long long)fg_ms_of(&ts));
        } else if (strncmp(line, "auth ", 5) == 0) {
            size_t n = unhex(line + 5, buf);
            printf("%d\\n", fg_mentions_auth_cookie(buf, n));
        } else if (strncmp(line, "parse ", 6) == 0) {
            size_t n = unhex(line + 6, buf);
            fg_plan *p = fg_plan_parse("k", 1, buf, n);
            int i;
            if (!p) { printf("null\\n"); continue; }
            printf("%s|%s|%d|%lld|%lld|%d|%lld|%lld|%lld|%lld|%s|%s|%s|%lld|", p->abs, p->ttl ? p->ttl : "-", p->invalidates,
                   (long long)p->grace_ms, (long long)p->dirs_until_ms, p->allow_authorized, (long long)p->header_limit,
                   (long long)p->mtime, (long long)p->ctime, (long long)p->size, p->type, p->etag ? p->etag : "-", p->lm ? p->lm : "-",
                   (long long)p->interval_ms);
            for (i = 0; i < p->nstats; i++) printf("%s%s", i ? "," : "", p->stats[i]);
            printf("|");
            for (i = 0; i < p->ndirs; i++) printf("%s%s", i ? "," : "", p->dirs[i]);
            printf("|");
            for (i = 0; i < 2 * p->nother; i++) printf("%s%s", i ? "," : "", p->other[i]);
            printf("\\n");
            free(p);
        } else if (strncmp(line, "fresh ", 6) == 0) {
            long long file_ms, now; int off;
            sscanf(line + 6, "%lld %lld %n", &file_ms, &now, &off);
            size_t n = unhex(line + 6 + off, buf);
            fg_plan *p = fg_plan_parse("k", 1, buf, n);
            if (!p) { printf("null\\n"); continue; }
            printf("%d\\n", fg_fresh(p, file_ms, now));
            free(p);
        } else if (strncmp(line, "keep ", 5) == 0) {
            size_t n = unhex(line + 5, buf);
            if (!t) t = fg_table_new(10);
            fg_plan *p = fg_plan_parse("kept", 4, buf, n);
            if (!p) { printf("null\\n"); continue; }
            fg_table_put(t, p);
            printf("ok\\n");
        } else if (strncmp(line, "dirs ", 5) == 0) {
            long long now; sscanf(line + 5, "%lld", &now);
            fg_plan *p = fg_table_get(t, "kept", 4);
            int ok = fg_dirs_ok(p, now);
            printf("%d %lld\\n", ok, (long long)p->dirs_until_ms);
        } else if (strncmp(line, "table ", 6) == 0) {
            unsigned max; sscanf(line + 6, "%u", &max);
            fg_table_free(&t);
            t = fg_table_new(max);
            printf("ok\\n");
        } else if (strncmp(line, "put ", 4) == 0 || strncmp(line, "get ", 4) == 0) {
            char key[256], text[512]; int put = line[0] == 'p';
            sscanf(line + 4, "%255s", key);
            if (put) {
                snprintf(text, sizeof text, "2\\037/%s\\037\\0370\\0370\\037-1\\0370\\0371000\\0371\\0372\\0373\\037text/html\\037-\\037-\\037100\\0370\\0370\\0370", key);
                fg_plan *p = fg_plan_parse(key, strlen(key), text, strlen(text));
                fg_table_put(t, p);
                printf("%u\\n", t->count);
            } else {
                const fg_plan *p = fg_table_get(t, key, strlen(key));
                printf("%s\\n", p ? p->abs : "miss");
            }
        }
    }
    return 0;
}
`;

const SEP = '\x1f';
const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');

interface PlanFields {
  abs?: string;
  interval?: number;
  dirs?: string[];
  ttl?: string;
  invalidates?: boolean;
  grace?: number;
  due?: number;
  allow?: boolean;
  limit?: number;
  identity?: [string, string, string];
  type?: string;
  etag?: string | null;
  lm?: string | null;
  stats?: string[];
  other?: string[];
}

/** A plan text as farmgate_hit.lua plan_text() writes it. */
function planText(f: PlanFields = {}): string {
  const other = f.other ?? [];
  return [
    '2',
    f.abs ?? '/d/content/page.html',
    f.ttl ?? '',
    f.invalidates === false ? '0' : '1',
    String(f.grace ?? 0),
    String(f.due ?? ((f.dirs ?? []).length ? 1764400060000 : -1)),
    f.allow ? '1' : '0',
    String(f.limit ?? 15360),
    ...(f.identity ?? ['1764400000123456', '1764400000123999', '1234']),
    f.type ?? 'text/html',
    f.etag === undefined || f.etag === null ? '-' : `+${f.etag}`,
    f.lm === undefined || f.lm === null ? '-' : `+${f.lm}`,
    String(f.interval ?? 1000),
    String((f.stats ?? []).length),
    ...(f.stats ?? []),
    String((f.dirs ?? []).length),
    ...(f.dirs ?? []),
    String(other.length / 2),
    ...other,
  ].join(SEP);
}

describe('farmgate_plan.h (the C fast paths\' shared half)', () => {
  let dir: string;
  let ask: (lines: string[]) => string[];
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-plan-h-'));
    await fs.writeFile(path.join(dir, 'harness.c'), HARNESS);
    const cc = binaryPath('cc') ?? binaryPath('gcc');
    if (!cc) assert.fail('no C compiler: apt-get install gcc (.ci/run does)');
    try {
      execFileSync(cc, ['-O1', '-Wall', '-Werror', '-I', path.resolve('src/front/module'), '-o', path.join(dir, 'harness'), path.join(dir, 'harness.c')], { stdio: 'pipe' });
    } catch (err) {
      assert.fail(`cannot compile the harness: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
    ask = (lines) => {
      const r = spawnSync(path.join(dir, 'harness'), { input: lines.join('\n') + '\n', encoding: 'latin1' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').slice(0, -1);
    };
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('parses the Lua\'s plan text field by field', () => {
    const [out] = ask([
      `parse ${hex(
        planText({
          ttl: '/d/content/page.html.ttl',
          grace: 2000,
          due: 1764400060000,
          allow: true,
          etag: '"v1"',
          lm: 'Tue, 01 Dec 2026 10:00:00 GMT',
          stats: ['/d/content/.stat', '/d/.stat'],
          dirs: ['/d/content'],
          interval: 250,
          other: ['Cache-Control', 'max-age=60', 'X-Custom', 'a "quoted" \\ value', 'X-Custom', 'second'],
        }),
      )}`,
    ]);
    assert.equal(
      out,
      '/d/content/page.html|/d/content/page.html.ttl|1|2000|1764400060000|1|15360|1764400000123456|1764400000123999|1234|text/html|"v1"|Tue, 01 Dec 2026 10:00:00 GMT|250|/d/content/.stat,/d/.stat|/d/content|Cache-Control,max-age=60,X-Custom,a "quoted" \\ value,X-Custom,second',
    );
    const [none] = ask([`parse ${hex(planText({ etag: null, lm: null, invalidates: false }))}`]);
    assert.equal(none, '/d/content/page.html|-|0|0|-1|0|15360|1764400000123456|1764400000123999|1234|text/html|-|-|1000|||');
    // an empty ETag is a stored ETag, not none
    assert.match(ask([`parse ${hex(planText({ etag: '' }))}`])[0]!, /\|text\/html\|\|-\|/);
  });

  it('refuses any other text: wrong version, counts, numbers, relative paths, a NUL', () => {
    const good = planText({ stats: ['/d/.stat'], dirs: ['/d/content'], other: ['A', 'b'] });
    const f = good.split(SEP);
    // 0 version … 14 interval, 15 .stat count, 16 the .stat, 17 folder count, 18 the folder, 19 header count
    const at = (i: number, v: string) => [...f.slice(0, i), v, ...f.slice(i + 1)].join(SEP);
    assert.notEqual(ask([`parse ${hex(good)}`])[0], 'null');
    const bad = [
      '',
      'garbage',
      at(0, '1'),
      at(1, 'relative/page.html'),
      at(3, '2'), // invalidates 0|1
      at(4, '12x'), // grace
      at(5, '-1'), // folders, but no check due
      at(8, ''), // mtime
      at(12, 'W/"x"'), // ETag without + or -
      at(14, '0'), // interval
      at(15, '2'), // more .stat files than given
      at(16, 'relative/.stat'),
      at(17, '0'),
      at(18, 'relative/folder'),
      at(19, '2'),
      planText({ due: 1764400060000 }), // a check due, but no folders
      good + SEP + 'extra',
      good.slice(0, -2), // a header without its value
      good.replace('/d/.stat', '/d/.s\u0000tat'),
      planText({ ttl: 'relative.ttl' }),
    ];
    assert.deepEqual(ask(bad.map((b) => `parse ${hex(b)}`)), bad.map(() => 'null'));
  });

  it('checks the folders again once their check is due, as the Lua does, and declines a folder that became a symlink', async () => {
    const root = path.join(dir, 'folders');
    await fs.mkdir(path.join(root, 'content', 'en'), { recursive: true });
    const dirs = [path.join(root, 'content'), path.join(root, 'content', 'en')];
    const out = ask([
      `keep ${hex(planText({ dirs, due: 1000, interval: 250 }))}`,
      'dirs 999', // not due: no check
      'dirs 1000', // due: checked, due again 250 ms later
      'dirs 1100',
    ]);
    assert.deepEqual(out, ['ok', '1 1000', '1 1250', '1 1250']);
    await fs.rename(dirs[1]!, path.join(root, 'content', 'real-en'));
    await fs.symlink(path.join(root, 'content', 'real-en'), dirs[1]!);
    const after = ask([`keep ${hex(planText({ dirs, due: 1000, interval: 250 }))}`, 'dirs 999', 'dirs 1000', 'dirs 5000']);
    assert.deepEqual(after, ['ok', '1 1000', '0 1000', '0 1000']);
  });

  it('rounds a file time to milliseconds as farmgate\'s msOf does (Math.round of sec * 1e3 + nsec / 1e6)', () => {
    const cases: [number, number][] = [
      [1764400000, 0],
      [1764400000, 499_999],
      [1764400000, 500_000],
      [1764400000, 999_999_999],
      [1764400000, 9_999_999], // …009.999 ms, what utimes(…010 ms) reads back as
      [0, 1_500_000],
    ];
    let seed = 42;
    for (let i = 0; i < 500; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      cases.push([1_700_000_000 + (seed % 100_000_000), (seed * 7919) % 1_000_000_000]);
    }
    const got = ask(cases.map(([s, ns]) => `ms ${s} ${ns}`)).map(Number);
    assert.deepEqual(got, cases.map(([s, ns]) => Math.round(s * 1e3 + ns / 1e6)));
  });

  it('decides freshness as cache/stat-files.ts freshness() does, over a grid of cases on real files', async () => {
    const F = 1_764_400_000_000;
    const lines: string[] = [];
    const expected: string[] = [];
    let n = 0;
    for (const statAt of [undefined, F - 1000, F, F + 1000]) {
      for (const ttlAt of [undefined, F + 500, F + 5000]) {
        for (const invalidates of [true, false]) {
          for (const grace of [0, 2000]) {
            for (const now of [F + 100, F + 1500, F + 4000, F + 6000]) {
              const sub = path.join(dir, `case-${n++}`);
              await fs.mkdir(sub);
              const stats = [path.join(sub, 'near', '.stat'), path.join(sub, '.stat')];
              await fs.mkdir(path.join(sub, 'near'));
              if (statAt !== undefined) {
                // the nearest .stat is missing: the next one up decides
                await fs.writeFile(stats[1]!, '');
                await fs.utimes(stats[1]!, new Date(statAt), new Date(statAt));
              }
              const ttl = path.join(sub, 'page.html.ttl');
              if (ttlAt !== undefined) {
                await fs.writeFile(ttl, '');
                await fs.utimes(ttl, new Date(ttlAt), new Date(ttlAt));
              }
              lines.push(`fresh ${F} ${now} ${hex(planText({ invalidates, grace, stats, ttl }))}`);
              const verdict = freshness({ fileMtimeMs: F, statMtimeMs: statAt, ttlExpiresMs: ttlAt, invalidates, gracePeriodMs: grace, now });
              expected.push(verdict === 'fresh' ? '1' : '0');
            }
          }
        }
      }
    }
    assert.deepEqual(ask(lines), expected);
    assert.ok(expected.includes('0') && expected.includes('1'));
  });

  it('the auth-cookie check finds every cookie hasAuthCookie() finds (and may find more: the Lua decides those)', () => {
    const cookies = [
      'login-token=abc',
      ' Login-Token =x',
      'a=1; authorization=Basic',
      'a=1;\tAUTHORIZATION=1',
      '\u00a0login-token=1',
      'theme=dark',
      'theme=login-token',
      'x=authorization',
      '',
      'login-tokens=1',
      'login_token=1',
    ];
    const got = ask(cookies.map((c) => `auth ${hex(c)}`));
    for (const [i, c] of cookies.entries()) {
      if (hasAuthCookie(c)) assert.equal(got[i], '1', JSON.stringify(c));
    }
    assert.deepEqual(got, ['1', '1', '1', '1', '1', '0', '1', '1', '0', '1', '0']);
  });

  it('the table: a plan per key, a new one replaces the old, a full table is emptied before it grows', () => {
    const out = ask(['table 2', 'put a', 'put b', 'get a', 'get b', 'put a', 'get a', 'put c', 'get a', 'get b', 'get c', 'put d', 'get c', 'get d']);
    assert.deepEqual(out, ['ok', '1', '2', '/a', '/b', '2', '/a', '1', 'miss', 'miss', '/c', '2', '/c', '/d']);
  });
});
