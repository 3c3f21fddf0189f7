/*
 * ngx_http_farmgate_module: the optional C fast path of `farmgate front nginx` (nginx/README.md).
 *
 * It decides nothing on its own. The Lua (farmgate_nginx.lua, run by `set_by_lua` in the hit
 * location) stays the one place where the nginx front decides a request, from the rules
 * `farmgate front` generates out of farmgate's config. When the Lua answers a fresh HIT, it
 * hands this module the hit's plan (`ngx.var.farmgate_plan = text`, a variable this module
 * owns); the module keeps it, per worker process, under the Lua's memo key (method, Host,
 * request URI), and answers the same request next time before the Lua runs: the same `stat`
 * calls (the file, the nearest `.stat`, `.ttl`), the same freshness rule, the same replayed
 * headers, then nginx's static handler sends the file from the named location @farmgate_hit.
 * Whenever anything differs from what the plan was made for (the file's identity, a folder on
 * the way that became a symlink, which it checks every statCheckIntervalMs as the Lua does, a
 * conditional or Range request, Authorization or an auth cookie, a
 * request near farmgate's header limit, an internal redirect, a subrequest), it declines and the
 * Lua decides: this module can only narrow what the Lua would do, never widen it.
 *
 * Why C: the Lua hit costs a few microseconds of nginx's ~13 per static hit (bench/README.md);
 * the goal is >= 0.6x of nginx static. Built by `farmgate front nginx` against the installed
 * nginx (nginx-dev's sources, --with-compat) when they are there; without it the front works
 * the same, at the Lua's speed. The plan format, the table and the freshness rule are
 * farmgate_plan.h, shared with the Apache module.
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "farmgate_plan.h"

typedef struct {
    ngx_flag_t enabled;
} fg_loc_conf_t;

typedef struct {
    ngx_uint_t max_plans;
    ngx_int_t file_index; /* $farmgate_file: the Lua's answer, read by farmgate_clear() */
} fg_main_conf_t;

static fg_table *plans;

static ngx_str_t hit_location = ngx_string("@farmgate_hit");
static ngx_str_t plan_var = ngx_string("farmgate_plan");
static ngx_str_t file_var = ngx_string("farmgate_file");

static ngx_int_t fg_init(ngx_conf_t *cf);
static ngx_int_t fg_add_variables(ngx_conf_t *cf);
static void *fg_create_main_conf(ngx_conf_t *cf);
static char *fg_init_main_conf(ngx_conf_t *cf, void *conf);
static void *fg_create_loc_conf(ngx_conf_t *cf);
static char *fg_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static ngx_int_t fg_init_process(ngx_cycle_t *cycle);
static void fg_exit_process(ngx_cycle_t *cycle);

static ngx_command_t fg_commands[] = {
    {ngx_string("farmgate_fast_hits"), NGX_HTTP_LOC_CONF | NGX_CONF_FLAG, ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(fg_loc_conf_t, enabled), NULL},
    {ngx_string("farmgate_fast_hits_max"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_num_slot, NGX_HTTP_MAIN_CONF_OFFSET,
     offsetof(fg_main_conf_t, max_plans), NULL},
    ngx_null_command};

static ngx_http_module_t fg_module_ctx = {
    fg_add_variables, fg_init, fg_create_main_conf, fg_init_main_conf, NULL, NULL, fg_create_loc_conf, fg_merge_loc_conf};

ngx_module_t ngx_http_farmgate_module = {NGX_MODULE_V1,
                                         &fg_module_ctx,
                                         fg_commands,
                                         NGX_HTTP_MODULE,
                                         NULL,
                                         NULL,
                                         fg_init_process,
                                         NULL,
                                         NULL,
                                         fg_exit_process,
                                         NULL,
                                         NGX_MODULE_V1_PADDING};

/* ---------------------------------------------------------------- configuration */

static void *fg_create_main_conf(ngx_conf_t *cf)
{
    fg_main_conf_t *c = ngx_pcalloc(cf->pool, sizeof *c);
    if (c == NULL) return NULL;
    c->max_plans = NGX_CONF_UNSET_UINT;
    c->file_index = NGX_ERROR;
    return c;
}

static char *fg_init_main_conf(ngx_conf_t *cf, void *conf)
{
    fg_main_conf_t *c = conf;
    (void)cf;
    if (c->max_plans == NGX_CONF_UNSET_UINT) c->max_plans = FG_DEFAULT_MAX_PLANS;
    if (c->max_plans < 1 || c->max_plans > 10000000) return "farmgate_fast_hits_max: a whole number from 1 to 10000000";
    return NGX_CONF_OK;
}

static void *fg_create_loc_conf(ngx_conf_t *cf)
{
    fg_loc_conf_t *c = ngx_pcalloc(cf->pool, sizeof *c);
    if (c == NULL) return NULL;
    c->enabled = NGX_CONF_UNSET;
    return c;
}

static char *fg_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    fg_loc_conf_t *prev = parent, *conf = child;
    (void)cf;
    ngx_conf_merge_value(conf->enabled, prev->enabled, 0);
    return NGX_CONF_OK;
}

static ngx_int_t fg_init_process(ngx_cycle_t *cycle)
{
    fg_main_conf_t *mc = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_farmgate_module);
    if (mc == NULL) return NGX_OK;
    plans = fg_table_new((unsigned int)mc->max_plans);
    if (plans == NULL) ngx_log_error(NGX_LOG_CRIT, cycle->log, 0, "farmgate: out of memory; fast hits off");
    return NGX_OK;
}

static void fg_exit_process(ngx_cycle_t *cycle)
{
    (void)cycle;
    fg_table_free(&plans);
}

/* ---------------------------------------------------------------- the Lua's memo key */

/* method " " Host " " request URI, as farmgate_nginx.lua keys its routes (pool-allocated) */
static ngx_str_t *plan_key(ngx_http_request_t *r)
{
    ngx_str_t *k = ngx_palloc(r->pool, sizeof *k);
    ngx_str_t host = ngx_null_string;
    u_char *p;
    if (k == NULL) return NULL;
    if (r->headers_in.host) host = r->headers_in.host->value;
    k->len = r->method_name.len + 1 + host.len + 1 + r->unparsed_uri.len;
    k->data = ngx_pnalloc(r->pool, k->len);
    if (k->data == NULL) return NULL;
    p = ngx_cpymem(k->data, r->method_name.data, r->method_name.len);
    *p++ = ' ';
    p = ngx_cpymem(p, host.data, host.len);
    *p++ = ' ';
    ngx_memcpy(p, r->unparsed_uri.data, r->unparsed_uri.len);
    return k;
}

/* ---------------------------------------------------------------- $farmgate_plan (Lua → C) */

static void fg_plan_set(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *key;
    fg_plan *p;
    (void)data;
    if (plans == NULL || r != r->main) return;
    key = plan_key(r);
    if (key == NULL) return;
    p = fg_plan_parse((const char *)key->data, key->len, (const char *)v->data, v->len);
    if (p == NULL) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0, "farmgate: a hit plan from the Lua that this module cannot read");
        return;
    }
    fg_table_put(plans, p);
}

static ngx_int_t fg_plan_get(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    (void)r, (void)data;
    v->not_found = 1;
    return NGX_OK;
}

static ngx_int_t fg_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t *v = ngx_http_add_variable(cf, &plan_var, NGX_HTTP_VAR_CHANGEABLE | NGX_HTTP_VAR_NOCACHEABLE);
    if (v == NULL) return NGX_ERROR;
    v->get_handler = fg_plan_get;
    v->set_handler = fg_plan_set;
    return NGX_OK;
}

/* ---------------------------------------------------------------- the hit */

static int64_t ns_of(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* Everything the Lua checks before its own `stat` calls, narrowed. */
static int request_fits(ngx_http_request_t *r, const fg_plan *p)
{
    ngx_http_headers_in_t *h = &r->headers_in;
    if (h->if_none_match || h->if_modified_since || h->if_match || h->if_unmodified_since || h->if_range || h->range) return 0;
    /* a header block near farmgate's limit: its 431 to answer (the Lua's $request_length check) */
    if ((int64_t)r->request_length > p->header_limit) return 0;
    if (p->allow_authorized) return 1;
    if (h->authorization) return 0;
#if defined(nginx_version) && nginx_version >= 1023000
    {
        ngx_table_elt_t *c;
        for (c = h->cookie; c; c = c->next)
            if (fg_mentions_auth_cookie((const char *)c->value.data, c->value.len)) return 0;
    }
#else
    {
        ngx_uint_t i;
        ngx_table_elt_t **c = h->cookies.elts;
        for (i = 0; i < h->cookies.nelts; i++)
            if (fg_mentions_auth_cookie((const char *)c[i]->value.data, c[i]->value.len)) return 0;
    }
#endif
    return 1;
}

static ngx_table_elt_t *push_header(ngx_http_request_t *r, const char *name, const char *value)
{
    ngx_table_elt_t *h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) return NULL;
    h->hash = 1;
    h->key.len = ngx_strlen(name);
    h->value.len = ngx_strlen(value);
    /* the plan may be replaced before the response is written: the request keeps copies */
    h->value.data = ngx_pnalloc(r->pool, h->value.len);
    if (h->value.data == NULL) return NULL;
    ngx_memcpy(h->value.data, value, h->value.len);
    h->key.data = ngx_pnalloc(r->pool, h->key.len);
    if (h->key.data == NULL) return NULL;
    ngx_memcpy(h->key.data, name, h->key.len);
#if defined(nginx_version) && nginx_version >= 1023000
    h->next = NULL;
#endif
    h->lowcase_key = NULL;
    return h;
}

/* The response headers the Lua's hit has, in its order: Content-Type, the stored headers,
   X-Cache, ETag and Last-Modified (a stored one, or none: nginx's own from the file is
   suppressed). */
static ngx_int_t set_headers(ngx_http_request_t *r, const fg_plan *p)
{
    ngx_table_elt_t *h;
    size_t i, len = ngx_strlen(p->type);
    int i2;
    u_char *type = ngx_pnalloc(r->pool, len);
    if (type == NULL) return NGX_ERROR;
    ngx_memcpy(type, p->type, len);
    r->headers_out.content_type.data = type;
    r->headers_out.content_type.len = len;
    r->headers_out.content_type_len = len;
    for (i = 0; i < len; i++) {
        if (type[i] == ';') {
            r->headers_out.content_type_len = i;
            break;
        }
    }
    r->headers_out.content_type_lowcase = NULL;
    for (i2 = 0; i2 < p->nother; i2++)
        if (push_header(r, p->other[2 * i2], p->other[2 * i2 + 1]) == NULL) return NGX_ERROR;
    if (push_header(r, "X-Cache", "HIT") == NULL) return NGX_ERROR;
    if (p->etag) {
        if ((h = push_header(r, "ETag", p->etag)) == NULL) return NGX_ERROR;
        r->headers_out.etag = h;
    }
    /* The static handler sets last_modified_time from the file; the header filter writes it only
       when headers_out.last_modified is NULL. A stored value is that header; none is an empty
       entry the filter skips (hash 0). */
    if ((h = push_header(r, "Last-Modified", p->lm ? p->lm : "")) == NULL) return NGX_ERROR;
    if (!p->lm) h->hash = 0;
    r->headers_out.last_modified = h;
    return NGX_OK;
}

/* The plan's answer, or NGX_DECLINED. */
static ngx_int_t answer(ngx_http_request_t *r, fg_plan *p, fg_main_conf_t *mc)
{
    struct stat st;
    ngx_time_t *tp = ngx_timeofday();
    /* the Lua's now: floor(ngx.now() * 1000 + 0.5), ngx.now() being this cached time */
    int64_t now = (int64_t)tp->sec * 1000 + tp->msec;
    ngx_http_variable_value_t *file;
    size_t len = ngx_strlen(p->abs);
    if (!request_fits(r, p)) return NGX_DECLINED;
    if (!fg_dirs_ok(p, now)) return NGX_DECLINED;
    if (lstat(p->abs, &st) != 0 || !S_ISREG(st.st_mode)) return NGX_DECLINED;
    if (ns_of(&st.st_mtim) != p->mtime || ns_of(&st.st_ctim) != p->ctime || (int64_t)st.st_size != p->size) return NGX_DECLINED;
    if (!fg_fresh(p, fg_ms_of(&st.st_mtim), now)) return NGX_DECLINED;

    /* From here on the request is a hit: set_headers only fails when out of memory. */
    if (set_headers(r, p) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    r->uri.data = ngx_pnalloc(r->pool, len);
    if (r->uri.data == NULL) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ngx_memcpy(r->uri.data, p->abs, len);
    r->uri.len = len;
    /* $farmgate_file, as the Lua would have set it: @farmgate clears a hit's headers by it */
    file = &r->variables[mc->file_index];
    file->data = r->uri.data;
    file->len = len;
    file->valid = 1;
    file->no_cacheable = 0;
    file->not_found = 0;
    return NGX_OK;
}

/* Runs first in the rewrite phase of the hit location, before the set_by_lua. */
static ngx_int_t fg_rewrite_handler(ngx_http_request_t *r)
{
    fg_loc_conf_t *lc = ngx_http_get_module_loc_conf(r, ngx_http_farmgate_module);
    fg_main_conf_t *mc;
    fg_plan *p;
    ngx_str_t *key;
    ngx_int_t rc;
    if (!lc->enabled || plans == NULL || r != r->main || r->internal) return NGX_DECLINED;
    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) return NGX_DECLINED;
    mc = ngx_http_get_module_main_conf(r, ngx_http_farmgate_module);
    if (mc->file_index == NGX_ERROR) return NGX_DECLINED;
    key = plan_key(r);
    if (key == NULL) return NGX_DECLINED;
    p = fg_table_get(plans, (const char *)key->data, key->len);
    if (p == NULL) return NGX_DECLINED;
    rc = answer(r, p, mc);
    if (rc == NGX_DECLINED) return NGX_DECLINED;
    if (rc != NGX_OK) return rc;
    /* nginx's static handler sends r->uri from @farmgate_hit (root /); as try_files does */
    (void)ngx_http_named_location(r, &hit_location);
    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}

static ngx_int_t fg_init(ngx_conf_t *cf)
{
    ngx_http_core_main_conf_t *cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    fg_main_conf_t *mc = ngx_http_conf_get_module_main_conf(cf, ngx_http_farmgate_module);
    ngx_http_handler_pt *h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) return NGX_ERROR;
    *h = fg_rewrite_handler;
    /* (a handler added after the rewrite module's runs before it: dynamic modules come last) */
    mc->file_index = ngx_http_get_variable_index(cf, &file_var);
    return NGX_OK;
}
