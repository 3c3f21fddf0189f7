/*
 * The server-independent half of farmgate's C fast paths (mod_farmgate.c for Apache,
 * ngx_http_farmgate_module.c for nginx): the hit plan the front's Lua hands over, the plan
 * table, and the freshness rule. Plain C (libc only); a server module includes it once.
 *
 * A plan is what the Lua (farmgate_hit.lua plan_text) worked out for one request line when it
 * answered it as a fresh HIT: the file, the `.stat` files that decide its freshness (nearest
 * first), its `.ttl`, the farm's `invalidate` and `gracePeriodMs`, when the folders' symlink
 * check is due, the file identity its `.h` was read for, and the headers to replay. The module
 * answers the same request line from the plan until anything differs from what the plan was
 * made for; then it declines and the Lua decides (the module only ever narrows the Lua's hits).
 *
 * Text format, fields separated by \037 (the Lua never hands over a plan whose text holds one):
 *   0 "2" (version)   1 file   2 .ttl or ""   3 invalidates 0|1   4 gracePeriodMs
 *   5 folders' symlink check due (ms since the epoch) or -1 (no folders)   6 allowAuthorized 0|1
 *   7 header limit (the server's Lua compares it with the Cookie header or the request length)
 *   8 mtime   9 ctime   10 size (the server's unit: Apache microseconds, nginx nanoseconds)
 *   11 Content-Type   12 ETag ("+value", or "-": none)   13 Last-Modified (the same)
 *   14 statCheckIntervalMs   then the count of .stat files and them, the count of folders
 *   between the docroot and the file and them, the count of other headers and name, value, ...
 */
#ifndef FARMGATE_PLAN_H
#define FARMGATE_PLAN_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define FG_FIELD_SEP '\037'
#define FG_PLAN_VERSION "2"
#define FG_MAX_LIST 256
/* entries kept per process by default, as the Lua memo tables (farmgate_hit.lua MAX_ENTRIES) */
#define FG_DEFAULT_MAX_PLANS 10000

typedef struct fg_plan_s fg_plan;
struct fg_plan_s {
    fg_plan *next; /* the table's chain */
    uint32_t hash;
    char *key; /* the request line as the server's Lua keys it */
    size_t keylen;
    char *abs; /* the file */
    char *ttl; /* its `.ttl`, or NULL without enableTTL */
    int invalidates;
    int64_t grace_ms;
    int64_t dirs_until_ms; /* -1: no folders; read and written with fg_dirs_ok() only */
    int64_t interval_ms;   /* statCheckIntervalMs */
    int allow_authorized;
    int64_t header_limit;
    int64_t mtime, ctime, size;
    char *type;
    char *etag; /* NULL: none */
    char *lm;   /* NULL: none */
    int nstats;
    char **stats;
    int ndirs;
    char **dirs; /* the folders between the docroot and the file, which must not be symlinks */
    int nother;
    char **other; /* name, value, name, value, ... */
};

/* floor() without libm (the module would depend on the server having loaded it) */
static int64_t fg_floor(double x)
{
    int64_t i = (int64_t)x;
    return (double)i > x ? i - 1 : i;
}

/* farmgate's msOf (cache/docroot-cache.ts): Math.round(sec * 1e3 + nsec / 1e6), in the same
   doubles (as farmgate_nginx.lua's ms()). */
static int64_t fg_ms_of(const struct timespec *t)
{
    return fg_floor((double)t->tv_sec * 1000.0 + (double)t->tv_nsec / 1e6 + 0.5);
}

static uint32_t fg_hash(const char *s, size_t len)
{
    /* FNV-1a over every byte: URLs that differ in one digit land in different chains */
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int fg_parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;
    if (*s == '\0') return 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0') return 0;
    *out = (int64_t)v;
    return 1;
}

/* A malloc'd plan from the Lua's text (not NUL-terminated: len bytes), or NULL when it is not
   exactly the format. */
static fg_plan *fg_plan_parse(const char *key, size_t keylen, const char *text, size_t len)
{
    size_t nfields = 1, f = 0, i;
    char **fields, *copy;
    int64_t n, nstats, ndirs, nother;
    fg_plan *p;
    for (i = 0; i < len; i++) {
        if (text[i] == '\0') return NULL;
        if (text[i] == FG_FIELD_SEP) nfields++;
    }
    if (nfields < 18 || nfields > 18 + 4 * FG_MAX_LIST) return NULL;
    p = malloc(sizeof *p + nfields * sizeof(char *) + keylen + 1 + len + 1);
    if (p == NULL) return NULL;
    memset(p, 0, sizeof *p);
    fields = (char **)(p + 1);
    p->key = (char *)(fields + nfields);
    memcpy(p->key, key, keylen);
    p->key[keylen] = '\0';
    p->keylen = keylen;
    p->hash = fg_hash(key, keylen);
    copy = p->key + keylen + 1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    fields[f++] = copy;
    for (i = 0; i < len; i++) {
        if (copy[i] == FG_FIELD_SEP) {
            copy[i] = '\0';
            fields[f++] = copy + i + 1;
        }
    }
    if (strcmp(fields[0], FG_PLAN_VERSION) != 0 || fields[1][0] != '/') goto bad;
    p->abs = fields[1];
    p->ttl = fields[2][0] ? fields[2] : NULL;
    if (!fg_parse_int(fields[3], &n) || (n != 0 && n != 1)) goto bad;
    p->invalidates = (int)n;
    if (!fg_parse_int(fields[4], &p->grace_ms) || !fg_parse_int(fields[5], &p->dirs_until_ms)) goto bad;
    if (!fg_parse_int(fields[6], &n) || (n != 0 && n != 1)) goto bad;
    p->allow_authorized = (int)n;
    if (!fg_parse_int(fields[7], &p->header_limit) || !fg_parse_int(fields[8], &p->mtime) || !fg_parse_int(fields[9], &p->ctime) ||
        !fg_parse_int(fields[10], &p->size))
        goto bad;
    p->type = fields[11];
    if (fields[12][0] == '+') p->etag = fields[12] + 1;
    else if (strcmp(fields[12], "-") != 0) goto bad;
    if (fields[13][0] == '+') p->lm = fields[13] + 1;
    else if (strcmp(fields[13], "-") != 0) goto bad;
    if (!fg_parse_int(fields[14], &p->interval_ms) || p->interval_ms < 1) goto bad;
    if (!fg_parse_int(fields[15], &nstats) || nstats < 0 || nstats > FG_MAX_LIST || (size_t)(18 + nstats) > nfields) goto bad;
    p->nstats = (int)nstats;
    p->stats = fields + 16;
    if (!fg_parse_int(fields[16 + nstats], &ndirs) || ndirs < 0 || ndirs > FG_MAX_LIST || (size_t)(18 + nstats + ndirs) > nfields)
        goto bad;
    p->ndirs = (int)ndirs;
    p->dirs = fields + 17 + nstats;
    if (!fg_parse_int(fields[17 + nstats + ndirs], &nother) || nother < 0 || nother > FG_MAX_LIST ||
        (size_t)(18 + nstats + ndirs + 2 * nother) != nfields)
        goto bad;
    p->nother = (int)nother;
    p->other = fields + 18 + nstats + ndirs;
    for (i = 0; i < (size_t)p->nstats; i++)
        if (p->stats[i][0] != '/') goto bad;
    for (i = 0; i < (size_t)p->ndirs; i++)
        if (p->dirs[i][0] != '/') goto bad;
    if (p->ttl && p->ttl[0] != '/') goto bad;
    if ((p->ndirs == 0) != (p->dirs_until_ms == -1)) goto bad;
    return p;
bad:
    free(p);
    return NULL;
}

/* The freshness rule of farmgate_route.lua M.freshness (cache/stat-files.ts), for a file whose
   mtime is file_ms: 1 fresh, 0 not. The same `stat` calls as the Lua: the `.ttl`, then the
   `.stat` files nearest first. */
static int fg_fresh(const fg_plan *p, int64_t file_ms, int64_t now_ms)
{
    struct stat st;
    int i;
    if (p->ttl && stat(p->ttl, &st) == 0 && now_ms >= fg_ms_of(&st.st_mtim)) return 0;
    if (!p->invalidates) return 1;
    for (i = 0; i < p->nstats; i++) {
        if (stat(p->stats[i], &st) == 0) {
            int64_t stat_ms = fg_ms_of(&st.st_mtim);
            return !(stat_ms >= file_ms && now_ms - stat_ms >= p->grace_ms);
        }
    }
    return 1;
}

/* The folders' symlink check, as the Lua's folders_ok(): while it is not due, 1; when due, every
   folder between the docroot and the file is lstat()ed again, and must be a real folder (1, and
   the check is due again statCheckIntervalMs later) or the Lua decides (0: a symlink is
   farmgate's to judge). Threads may run it at once on a shared plan: the due time is one
   atomic word, and a check run twice is only a check run twice. */
static int fg_dirs_ok(fg_plan *p, int64_t now_ms)
{
    struct stat st;
    int i;
    int64_t due = __atomic_load_n(&p->dirs_until_ms, __ATOMIC_RELAXED);
    if (due < 0 || now_ms < due) return 1;
    for (i = 0; i < p->ndirs; i++)
        if (lstat(p->dirs[i], &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    __atomic_store_n(&p->dirs_until_ms, now_ms + p->interval_ms, __ATOMIC_RELAXED);
    return 1;
}

/* Whether a Cookie header value mentions an auth cookie's name anywhere (case-insensitive):
   conservative, the Lua then decides exactly (cache/policy.ts hasAuthCookie). */
static int fg_mentions_auth_cookie(const char *s, size_t len)
{
    static const char *const names[] = {"login-token", "authorization"};
    size_t k, i, j;
    for (k = 0; k < 2; k++) {
        size_t n = strlen(names[k]);
        for (i = 0; i + n <= len; i++) {
            for (j = 0; j < n && (s[i + j] | 0x20) == names[k][j]; j++) {
            }
            if (j == n) return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- the plan table
   Chained, malloc'd, per process; the caller serialises writers (Apache: a rwlock; nginx: one
   thread per worker). At most `max` plans: a full table is emptied, as the Lua memos are. */

#define FG_BUCKETS 16384

typedef struct {
    fg_plan *bucket[FG_BUCKETS];
    unsigned int count;
    unsigned int max;
} fg_table;

static fg_table *fg_table_new(unsigned int max)
{
    fg_table *t = calloc(1, sizeof *t);
    if (t) t->max = max;
    return t;
}

static fg_plan *fg_table_get(const fg_table *t, const char *key, size_t keylen)
{
    uint32_t h = fg_hash(key, keylen);
    fg_plan *p;
    for (p = t->bucket[h % FG_BUCKETS]; p; p = p->next)
        if (p->hash == h && p->keylen == keylen && memcmp(p->key, key, keylen) == 0) return p;
    return NULL;
}

static void fg_table_clear(fg_table *t)
{
    unsigned int i;
    for (i = 0; i < FG_BUCKETS; i++) {
        fg_plan *p = t->bucket[i];
        while (p) {
            fg_plan *next = p->next;
            free(p);
            p = next;
        }
        t->bucket[i] = NULL;
    }
    t->count = 0;
}

/* Frees the table and its plans; *t becomes NULL. */
static void fg_table_free(fg_table **t)
{
    if (*t == NULL) return;
    fg_table_clear(*t);
    free(*t);
    *t = NULL;
}

/* Takes ownership of p: it replaces the plan of the same key, or joins the table. */
static void fg_table_put(fg_table *t, fg_plan *p)
{
    fg_plan **pp = &t->bucket[p->hash % FG_BUCKETS];
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->hash == p->hash && (*pp)->keylen == p->keylen && memcmp((*pp)->key, p->key, p->keylen) == 0) {
            fg_plan *old = *pp;
            p->next = old->next;
            *pp = p;
            free(old);
            return;
        }
    }
    if (t->count >= t->max) {
        fg_table_clear(t);
        pp = &t->bucket[p->hash % FG_BUCKETS];
    }
    p->next = *pp;
    *pp = p;
    t->count++;
}

#endif
