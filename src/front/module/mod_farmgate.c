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
 * the plan was made for (the file's identity, a folder on the way that became a symlink, which
 * it checks every statCheckIntervalMs as the Lua does, a conditional
 * or Range request, an Authorization header or an auth cookie, a big Cookie, an internal
 * redirect, a subrequest), it declines and the Lua decides: this module can only narrow what
 * the Lua would do, never widen it.
 *
 * Why C: mod_lua's per-request cost (entering a Lua state, a table per r:stat, metamethods for
 * every field) is about half of Apache's own cost per static hit; the goal is >= 0.6x of Apache
 * static (bench/README.md). Built by `farmgate front apache` with apxs (apache2-dev) when it is
 * installed; without it the front works the same, at mod_lua's speed.
 *
 * The plan's format, the plan table and the freshness rule are farmgate_plan.h, shared with the
 * nginx module. Memory: at most FarmgateFastHitsMax (10000) plans per child process (a full
 * table is emptied, as the Lua memo tables are), each one malloc'd block; a read-write lock
 * guards the table (readers hold it for the few microseconds of a hit; inserts happen once per
 * request line and file identity).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "apr_thread_rwlock.h"

#include "farmgate_plan.h"

module AP_MODULE_DECLARE_DATA farmgate_module;

/* set by this module when it declines: the Lua then hands over a hit's plan */
#define NOTE_WANT "farmgate-want"
/* set by the Lua: the plan of the hit it answered (farmgate_plan.h) */
#define NOTE_PLAN "farmgate-plan"

typedef struct {
    int enabled;
} fg_dir_conf;

static fg_table *plans;
static apr_thread_rwlock_t *lock;
static unsigned int max_plans = FG_DEFAULT_MAX_PLANS;

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

/* apr_stat's apr_time_t, which the Lua's r:stat() gives: seconds and the nanoseconds truncated
   to microseconds */
static apr_int64_t us_of(const struct timespec *t)
{
    return (apr_int64_t)t->tv_sec * 1000000 + t->tv_nsec / 1000;
}

static int fg_enabled(request_rec *r)
{
    fg_dir_conf *c = ap_get_module_config(r->per_dir_config, &farmgate_module);
    return c != NULL && c->enabled == 1;
}

/* The Lua memo's key: the request line, and "\n" Host when there is one. */
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
    /* a big cookie near farmgate's header limit: its 431 to answer (the Lua's check) */
    if (cookie && (apr_int64_t)strlen(cookie) > p->header_limit) return 0;
    if (!p->allow_authorized && (apr_table_get(hi, "Authorization") || (cookie && fg_mentions_auth_cookie(cookie, strlen(cookie)))))
        return 0;
    return 1;
}

/* Answers the hit as the Lua's try_hit does, or returns DECLINED. Called with the lock held. */
static int answer(request_rec *r, fg_plan *p)
{
    struct stat st;
    /* the Lua's now: r:clock(), apr_time_now() in microseconds, rounded to milliseconds */
    apr_int64_t now = fg_floor((double)apr_time_now() / 1000.0 + 0.5);
    int i;
    if (!request_fits(r, p)) return DECLINED;
    if (!fg_dirs_ok(p, now)) return DECLINED;
    if (lstat(p->abs, &st) != 0 || !S_ISREG(st.st_mode)) return DECLINED;
    if (us_of(&st.st_mtim) != p->mtime || us_of(&st.st_ctim) != p->ctime || (apr_int64_t)st.st_size != p->size) return DECLINED;
    if (!fg_fresh(p, fg_ms_of(&st.st_mtim), now)) return DECLINED;

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
    fg_plan *p;
    int rv = DECLINED;
    if (r->main || r->prev || !fg_enabled(r) || r->the_request == NULL) return DECLINED;
    if (apr_table_get(r->headers_in, "X-Farmgate-Decide")) return DECLINED;
    key = plan_key(r);
    apr_thread_rwlock_rdlock(lock);
    p = fg_table_get(plans, key, strlen(key));
    if (p) rv = answer(r, p);
    apr_thread_rwlock_unlock(lock);
    if (rv == DECLINED) apr_table_setn(r->notes, NOTE_WANT, "1");
    return rv;
}

/* ---------------------------------------------------------------- plans from the Lua */

/* Runs first in translate_name, after the Lua's pre_translate_name hook answered a hit. */
static int fg_take_plan(request_rec *r)
{
    const char *note = apr_table_get(r->notes, NOTE_PLAN);
    const char *key;
    fg_plan *p;
    if (note == NULL) return DECLINED;
    key = plan_key(r);
    p = fg_plan_parse(key, strlen(key), note, strlen(note));
    apr_table_unset(r->notes, NOTE_PLAN);
    if (p == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "farmgate: a hit plan from the Lua that this module cannot read");
        return DECLINED;
    }
    apr_thread_rwlock_wrlock(lock);
    fg_table_put(plans, p);
    apr_thread_rwlock_unlock(lock);
    return DECLINED;
}

static apr_status_t cleanup_plans(void *data)
{
    (void)data;
    fg_table_free(&plans);
    return APR_SUCCESS;
}

static void fg_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv = apr_thread_rwlock_create(&lock, pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "farmgate: cannot create a lock; fast hits off");
        return;
    }
    plans = fg_table_new(max_plans);
    if (plans == NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "farmgate: out of memory; fast hits off");
        lock = NULL;
        return;
    }
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
    max_plans = FG_DEFAULT_MAX_PLANS;
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
