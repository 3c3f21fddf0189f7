/*
 * mod_farmgate: the optional C fast path of `farmgate front apache` (apache/README.md).
 *
 * It decides nothing on its own. The Lua hook (farmgate_apache.lua) stays the one place where
 * the Apache front decides a request, from the rules `farmgate front` generates out of
 * farmgate's config. When the Lua answers a fresh HIT, it hands this module the hit's plan (a
 * request note); this module keeps the plan, per child process, under the request line and
 * Host, and answers the same request line next time without entering Lua: the same `stat`
 * calls (the file, the nearest `.stat`, `.ttl`), the same freshness rule, the same replayed
 * headers, the same hand-over to Apache's default handler. Whenever anything differs from what
 * the plan was made for (the file's identity, the folders' symlink check is due, a conditional
 * or Range request, an Authorization header or an auth cookie, a big Cookie, an internal
 * redirect, a subrequest), it declines and the Lua decides: this module can only narrow what
 * the Lua would do, never widen it.
 *
 * Why C: mod_lua's per-request cost (entering a Lua state, a table per r:stat, metamethods for
 * every field) is about half of Apache's own cost per static hit; the goal is >= 0.6x of Apache
 * static (bench/README.md). Built by `farmgate front apache` with apxs (apache2-dev) when it is
 * installed; without it the front works the same, at mod_lua's speed.
 *
 * Memory: at most FarmgateFastHitsMax (10000) plans per child process (a full table is
 * emptied, as the Lua memo tables are), each one malloc'd block; a read-write lock guards the table (readers hold it
 * for the few microseconds of a hit; inserts happen once per request line and file identity).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_thread_rwlock.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

module AP_MODULE_DECLARE_DATA farmgate_module;

/* set by this module when it declines: the Lua then hands over a hit's plan */
#define NOTE_WANT "farmgate-want"
/* set by the Lua: the plan of the hit it answered (format: farmgate_apache.lua publish()) */
#define NOTE_PLAN "farmgate-plan"
#define FIELD_SEP '\037'
#define PLAN_VERSION "1"
#define FG_MAX_ENTRIES 10000 /* as the Lua memo tables (farmgate_hit.lua MAX_ENTRIES) */
#define FG_MAX_LIST 256

typedef struct {
    char *key; /* request line "\n" Host (the Lua memo's key) */
    char *abs; /* the file */
    char *ttl; /* its `.ttl`, or NULL without enableTTL */
    int invalidates;
    apr_int64_t grace_ms;
    apr_int64_t dirs_until_ms; /* the folders' symlink check is due then; -1: no folders */
    int allow_authorized;
    apr_int64_t cookie_max; /* a longer Cookie header: farmgate's 431 to answer */
    apr_int64_t mtime_us, ctime_us, size; /* the file identity the headers were read for */
    char *type;
    char *etag; /* NULL: none */
    char *lm;   /* NULL: none */
    int nstats;
    char **stats; /* nearest first */
    int nother;
    char **other; /* name, value, name, value, ... */
} fg_plan;

typedef struct {
    int enabled;
} fg_dir_conf;

static apr_hash_t *plans;
static apr_thread_rwlock_t *lock;
static unsigned int nplans;
static unsigned int max_plans = FG_MAX_ENTRIES;

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    fg_dir_conf *c = apr_pcalloc(p, sizeof *c);
    (void)dir;
    c->enabled = -1;
    return c;
}

static void *merge_dir_conf(apr_pool_t *p, void *base, void *add)
{
    fg_dir_conf *b = base, *a = add, *c = apr_pcalloc(p, sizeof *c);
    c->enabled = a->enabled != -1 ? a->enabled : b->enabled;
    return c;
}

static const char *set_max_plans(cmd_parms *cmd, void *dummy, const char *arg)
{
    char *end;
    apr_int64_t n = apr_strtoi64(arg, &end, 10);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    (void)dummy;
    if (err) return err;
    if (*arg == '\0' || *end != '\0' || n < 1 || n > 10000000) return "FarmgateFastHitsMax: a whole number from 1 to 10000000";
    max_plans = (unsigned int)n;
    return NULL;
}

static const command_rec commands[] = {
    AP_INIT_FLAG("FarmgateFastHits", ap_set_flag_slot, (void *)APR_OFFSETOF(fg_dir_conf, enabled), RSRC_CONF,
                 "On: answer the fresh hits the farmgate Lua hook planned without entering Lua"),
    AP_INIT_TAKE1("FarmgateFastHitsMax", set_max_plans, NULL, RSRC_CONF,
                  "hit plans kept per child process (default 10000; a full table is emptied)"),
    {NULL}};

static apr_int64_t ms_of(apr_int64_t us)
{
    /* farmgate's msOf (Math.round of milliseconds) of an apr time (microseconds), as the Lua's
       ms(): floor(us / 1000 + 0.5) */
    return us >= 0 ? (us + 500) / 1000 : -((-us + 499) / 1000);
}

static apr_int64_t us_of(const struct timespec *t)
{
    /* apr_stat's apr_time_t: seconds and the nanoseconds truncated to microseconds */
    return (apr_int64_t)t->tv_sec * 1000000 + t->tv_nsec / 1000;
}

/* Conservative: any mention of the auth cookies' names sends the request to the Lua, which
   decides exactly (cache/policy.ts hasAuthCookie). */
static int mentions_auth_cookie(const char *cookie)
{
    return strcasestr(cookie, "login-token") != NULL || strcasestr(cookie, "authorization") != NULL;
}

static int fg_enabled(request_rec *r)
{
    fg_dir_conf *c = ap_get_module_config(r->per_dir_config, &farmgate_module);
    return c != NULL && c->enabled == 1;
}

static const char *plan_key(request_rec *r)
{
    const char *host = apr_table_get(r->headers_in, "Host");
    return host ? apr_pstrcat(r->pool, r->the_request, "\n", host, NULL) : r->the_request;
}

/* ---------------------------------------------------------------- the hit */

/* OK when the plan's request may be answered: everything the Lua checks before its own `stat`
   calls, narrowed. */
static int request_fits(request_rec *r, const fg_plan *p)
{
    apr_table_t *hi = r->headers_in;
    const char *cookie;
    if (apr_table_get(hi, "If-None-Match") || apr_table_get(hi, "If-Modified-Since") || apr_table_get(hi, "If-Match") ||
        apr_table_get(hi, "If-Unmodified-Since") || apr_table_get(hi, "If-Range") || apr_table_get(hi, "Range"))
        return 0;
    cookie = apr_table_get(hi, "Cookie");
    if (cookie && (apr_int64_t)strlen(cookie) > p->cookie_max) return 0;
    if (!p->allow_authorized && (apr_table_get(hi, "Authorization") || (cookie && mentions_auth_cookie(cookie)))) return 0;
    return 1;
}

/* The freshness rule of farmgate_route.lua M.freshness (cache/stat-files.ts): fresh or not. */
static int fresh(const fg_plan *p, apr_int64_t file_ms, apr_int64_t now)
{
    struct stat st;
    int i;
    if (p->ttl && stat(p->ttl, &st) == 0 && now >= ms_of(us_of(&st.st_mtim))) return 0;
    if (!p->invalidates) return 1;
    for (i = 0; i < p->nstats; i++) {
        if (stat(p->stats[i], &st) == 0) {
            apr_int64_t stat_ms = ms_of(us_of(&st.st_mtim));
            return !(stat_ms >= file_ms && now - stat_ms >= p->grace_ms);
        }
    }
    return 1;
}

/* Answers the hit as the Lua's try_hit does, or returns DECLINED. Called with the lock held. */
static int answer(request_rec *r, const fg_plan *p)
{
    struct stat st;
    apr_int64_t now = ms_of(apr_time_now());
    int i;
    if (!request_fits(r, p)) return DECLINED;
    if (p->dirs_until_ms >= 0 && now >= p->dirs_until_ms) return DECLINED;
    if (lstat(p->abs, &st) != 0 || !S_ISREG(st.st_mode)) return DECLINED;
    if (us_of(&st.st_mtim) != p->mtime_us || us_of(&st.st_ctim) != p->ctime_us || (apr_int64_t)st.st_size != p->size)
        return DECLINED;
    if (!fresh(p, ms_of(p->mtime_us), now)) return DECLINED;

    for (i = 0; i < p->nother; i++) apr_table_set(r->headers_out, p->other[2 * i], p->other[2 * i + 1]);
    apr_table_setn(r->headers_out, "X-Cache", "HIT");
    apr_table_set(r->subprocess_env, "FARMGATE_TYPE", p->type);
    if (p->etag) apr_table_set(r->subprocess_env, "FARMGATE_ETAG", p->etag);
    else apr_table_setn(r->subprocess_env, "FARMGATE_NO_ETAG", "1");
    if (p->lm) apr_table_set(r->subprocess_env, "FARMGATE_LM", p->lm);
    else apr_table_setn(r->subprocess_env, "FARMGATE_NO_LM", "1");
    /* the access log's front=%{farmgate-front}n: who answered the hit */
    apr_table_setn(r->notes, "farmgate-front", "c");
    r->uri = apr_pstrdup(r->pool, p->abs);
    return DONE;
}

/* Runs before mod_lua's pre_translate_name hook. */
static int fg_pre_translate(request_rec *r)
{
    const char *key;
    const fg_plan *p;
    int rv = DECLINED;
    if (r->main || r->prev || !fg_enabled(r) || r->the_request == NULL) return DECLINED;
    if (apr_table_get(r->headers_in, "X-Farmgate-Decide")) return DECLINED;
    key = plan_key(r);
    apr_thread_rwlock_rdlock(lock);
    p = apr_hash_get(plans, key, APR_HASH_KEY_STRING);
    if (p) rv = answer(r, p);
    apr_thread_rwlock_unlock(lock);
    if (rv == DECLINED) apr_table_setn(r->notes, NOTE_WANT, "1");
    return rv;
}

/* ---------------------------------------------------------------- plans from the Lua */

static int parse_int(const char *s, apr_int64_t *out)
{
    char *end;
    if (*s == '\0') return 0;
    *out = apr_strtoi64(s, &end, 10);
    return *end == '\0';
}

/* A malloc'd plan from the note's text, or NULL when the text is not exactly the format. */
static fg_plan *parse_plan(const char *key, const char *note)
{
    size_t keylen = strlen(key) + 1, notelen = strlen(note) + 1;
    size_t nfields = 1, f = 0;
    const char *c;
    char **fields, *text, *s;
    apr_int64_t n, nstats, nother;
    fg_plan *p;
    for (c = note; *c; c++)
        if (*c == FIELD_SEP) nfields++;
    if (nfields < 15 || nfields > 16 + 3 * FG_MAX_LIST) return NULL;
    p = malloc(sizeof *p + nfields * sizeof(char *) + keylen + notelen);
    if (p == NULL) return NULL;
    memset(p, 0, sizeof *p);
    fields = (char **)(p + 1);
    p->key = (char *)(fields + nfields);
    memcpy(p->key, key, keylen);
    text = p->key + keylen;
    memcpy(text, note, notelen);
    for (s = text, fields[f++] = s; *s; s++) {
        if (*s == FIELD_SEP) {
            *s = '\0';
            fields[f++] = s + 1;
        }
    }
    /* 0 version, 1 file, 2 .ttl or "", 3 invalidates, 4 grace, 5 folders' check due or -1,
       6 allowAuthorized, 7 Cookie limit, 8 mtime, 9 ctime, 10 size (apr_stat's, microseconds),
       11 Content-Type, 12 ETag and 13 Last-Modified ("+value" or "-"), 14 count of .stat files,
       then them, then the count of other headers, then name, value, ... */
    if (strcmp(fields[0], PLAN_VERSION) != 0 || fields[1][0] != '/') goto bad;
    p->abs = fields[1];
    p->ttl = fields[2][0] ? fields[2] : NULL;
    if (!parse_int(fields[3], &n) || (n != 0 && n != 1)) goto bad;
    p->invalidates = (int)n;
    if (!parse_int(fields[4], &p->grace_ms) || !parse_int(fields[5], &p->dirs_until_ms)) goto bad;
    if (!parse_int(fields[6], &n) || (n != 0 && n != 1)) goto bad;
    p->allow_authorized = (int)n;
    if (!parse_int(fields[7], &p->cookie_max) || !parse_int(fields[8], &p->mtime_us) || !parse_int(fields[9], &p->ctime_us) ||
        !parse_int(fields[10], &p->size))
        goto bad;
    p->type = fields[11];
    if (fields[12][0] == '+') p->etag = fields[12] + 1;
    else if (strcmp(fields[12], "-") != 0) goto bad;
    if (fields[13][0] == '+') p->lm = fields[13] + 1;
    else if (strcmp(fields[13], "-") != 0) goto bad;
    if (!parse_int(fields[14], &nstats) || nstats < 0 || nstats > FG_MAX_LIST || (size_t)(16 + nstats) > nfields) goto bad;
    p->nstats = (int)nstats;
    p->stats = fields + 15;
    if (!parse_int(fields[15 + nstats], &nother) || nother < 0 || nother > FG_MAX_LIST ||
        (size_t)(16 + nstats + 2 * nother) != nfields)
        goto bad;
    p->nother = (int)nother;
    p->other = fields + 16 + nstats;
    return p;
bad:
    free(p);
    return NULL;
}

/* Empties the table. apr_hash_clear compares the keys it removes, and they live in the plans'
   blocks: those are freed after it. */
static void forget_all(void)
{
    apr_hash_index_t *hi;
    void **gone = malloc((nplans + 1) * sizeof *gone);
    unsigned int n = 0, i;
    for (hi = apr_hash_first(NULL, plans); hi; hi = apr_hash_next(hi)) {
        void *v;
        apr_hash_this(hi, NULL, NULL, &v);
        if (gone && n < nplans) gone[n++] = v;
    }
    if (gone == NULL || n != apr_hash_count(plans)) {
        /* out of memory, or the count is off: keep the table (a plan is never lost half-way) */
        free(gone);
        return;
    }
    apr_hash_clear(plans);
    for (i = 0; i < n; i++) free(gone[i]);
    free(gone);
    nplans = 0;
}

/* Runs first in translate_name, after the Lua's pre_translate_name hook answered a hit. */
static int fg_take_plan(request_rec *r)
{
    const char *note = apr_table_get(r->notes, NOTE_PLAN);
    fg_plan *p, *old;
    if (note == NULL) return DECLINED;
    p = parse_plan(plan_key(r), note);
    apr_table_unset(r->notes, NOTE_PLAN);
    if (p == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "farmgate: a hit plan from the Lua that this module cannot read");
        return DECLINED;
    }
    apr_thread_rwlock_wrlock(lock);
    old = apr_hash_get(plans, p->key, APR_HASH_KEY_STRING);
    if (old) {
        /* apr_hash_set would keep the old entry's key (inside the block freed here) */
        apr_hash_set(plans, p->key, APR_HASH_KEY_STRING, NULL);
        free(old);
        nplans--;
    }
    if (nplans >= max_plans) forget_all();
    if (nplans < max_plans) {
        apr_hash_set(plans, p->key, APR_HASH_KEY_STRING, p);
        nplans++;
        p = NULL;
    }
    apr_thread_rwlock_unlock(lock);
    free(p);
    return DECLINED;
}

static apr_status_t cleanup_plans(void *data)
{
    (void)data;
    if (plans) forget_all();
    return APR_SUCCESS;
}

static void fg_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv = apr_thread_rwlock_create(&lock, pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "farmgate: cannot create a lock; fast hits off");
        return;
    }
    plans = apr_hash_make(pchild);
    apr_pool_cleanup_register(pchild, NULL, cleanup_plans, apr_pool_cleanup_null);
}

static int fg_pre_translate_guarded(request_rec *r)
{
    return lock ? fg_pre_translate(r) : DECLINED;
}

static int fg_take_plan_guarded(request_rec *r)
{
    return lock ? fg_take_plan(r) : DECLINED;
}

/* Each (re)read of the configuration starts from the default. */
static int fg_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf, (void)plog, (void)ptemp;
    max_plans = FG_MAX_ENTRIES;
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const before_lua[] = {"mod_lua.c", NULL};
    (void)p;
    ap_hook_pre_translate_name(fg_pre_translate_guarded, NULL, before_lua, APR_HOOK_REALLY_FIRST);
    ap_hook_translate_name(fg_take_plan_guarded, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_child_init(fg_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_config(fg_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(farmgate) = {
    STANDARD20_MODULE_STUFF, create_dir_conf, merge_dir_conf, NULL, NULL, commands, register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_NONE
#endif
};
