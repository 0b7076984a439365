/* zt_arm_client.c - ARM operations: send with retries, follow long-running
 * operations, pace, serialize.
 *
 * One zt_arm_do call is one operation as the caller sees it ("create this
 * subnet"): it may take many HTTP requests (retries, polls, the final GET)
 * and minutes of waiting, all bounded by the request's deadline and the
 * provider's cancel flag.
 */
#include "zt_arm_internal.h"
#include "zt_arm_curl.h"
#include "zt_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct zt_arm_client {
    zt_arena *arena; /* cloud, user agent */
    zt_arm_http *http;
    zt_arm_cred *cred;
    zt_arm_pacer *pacer;
    zt_arm_lists *lists;
    zt_arm_cloud cloud;
    const char *origin; /* of the ARM endpoint: the only host that gets a token */
    const atomic_bool *cancel;
    int64_t default_timeout_ms;
    int64_t attempt_timeout_ms;
    int64_t retry_base_ms;
    int64_t retry_cap_ms;
    int64_t poll_interval_ms;
    int64_t min_poll_interval_ms;
    int64_t max_retry_after_ms;
    double time_scale;
    unsigned max_attempts;
};

/* One operation in progress. */
typedef struct op {
    zt_arm_client *c;
    zt_arena *a;
    const zt_arm_req *req;
    zt_arm_resp *resp;
    const char *url;          /* the resource, with api-version */
    const char *body;
    const char *subscription; /* pacing is per subscription */
    const atomic_bool *cancel; /* the request's, else the client's */
    int64_t deadline;
    bool idempotent;
    bool serial_held;         /* this operation holds its serialization scope */
    bool lro_failed;          /* ZT_ERR_REMOTE came from a terminal LRO state */
} op;

static int64_t def(int64_t v, int64_t d) { return v > 0 ? v : d; }

/* ------------------------------------------------------------------ */
/* Setup                                                              */

static const char *user_agent(zt_arena *a, const char *tf_version)
{
    if (zt_curl_load(NULL) != ZT_OK) /* reported when the transport is made */
        return zt_arena_printf(a, "terraform-provider-zerotrust/%s", ZT_VERSION);
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (tf_version && *tf_version)
        return zt_arena_printf(a, "terraform-provider-zerotrust/%s Terraform/%s libcurl/%s",
                               ZT_VERSION, tf_version, v->version);
    return zt_arena_printf(a, "terraform-provider-zerotrust/%s libcurl/%s", ZT_VERSION,
                           v->version);
}

zt_rc zt_arm_client_new(const zt_arm_client_options *o, zt_diags *d, zt_arm_client **out)
{
    if (!o || !o->config)
        return zt_diag_error(d, NULL, "Internal error", "zt_arm_client_new without a config");
    zt_arm_client *c = calloc(1, sizeof(*c));
    if (!c)
        zt_panic("out of memory");
    c->arena = zt_arena_new();
    c->cancel = o->cancel;
    c->default_timeout_ms = def(o->default_timeout_ms, 30 * 60 * 1000);
    c->attempt_timeout_ms = def(o->attempt_timeout_ms, 120 * 1000);
    c->retry_base_ms = def(o->retry_base_ms, 1000);
    c->retry_cap_ms = def(o->retry_cap_ms, 60 * 1000);
    c->poll_interval_ms = def(o->poll_interval_ms, 5000);
    c->min_poll_interval_ms = def(o->min_poll_interval_ms, 1000);
    c->max_retry_after_ms = def(o->max_retry_after_ms, 5 * 60 * 1000);
    c->max_attempts = o->max_attempts ? o->max_attempts : 12;
    c->time_scale = o->time_scale > 0 ? o->time_scale : 1.0;

    zt_rc rc = zt_arm_cloud_resolve(c->arena, o->config, d, &c->cloud);
    if (rc == ZT_OK) {
        c->origin = zt_arm_url_origin(c->arena, c->cloud.resource_manager);
        zt_arm_http_options ho = {
            .ca_bundle_path = o->config->ca_bundle_path,
            .user_agent = user_agent(c->arena, o->terraform_version),
            .max_host_connections = o->max_host_connections,
        };
        rc = zt_arm_http_new(&ho, d, &c->http);
    }
    if (rc == ZT_OK)
        rc = zt_arm_cred_new(o->config, &c->cloud, c->http, &o->cred, d, &c->cred);
    if (rc != ZT_OK) {
        zt_arm_client_free(c);
        return rc;
    }
    c->pacer = zt_arm_pacer_new(o->pace_scale, !o->disable_pacing);
    c->lists = zt_arm_lists_new();
    *out = c;
    return ZT_OK;
}

void zt_arm_client_free(zt_arm_client *c)
{
    if (!c)
        return;
    zt_arm_cred_free(c->cred);
    zt_arm_http_free(c->http);
    zt_arm_pacer_free(c->pacer);
    zt_arm_lists_free(c->lists);
    zt_arena_free(c->arena);
    free(c);
}

zt_arm_cred *zt_arm_client_cred(zt_arm_client *c) { return c->cred; }
zt_arm_http_stats zt_arm_client_stats(zt_arm_client *c) { return zt_arm_http_get_stats(c->http); }
const zt_arm_cloud *zt_arm_client_cloud(const zt_arm_client *c) { return &c->cloud; }
zt_arm_lists *zt_arm_client_lists(zt_arm_client *c) { return c->lists; }

/* ------------------------------------------------------------------ */
/* Helpers                                                            */

static void json_release(void *p) { json_decref(p); }

/* Parse a response body into the arena's keeping; NULL if not JSON. */
static json_t *parse_body(zt_arena *a, const zt_arm_http_resp *r)
{
    if (!r->body || !r->body_len)
        return NULL;
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    if (j)
        zt_arena_on_free(a, json_release, j);
    return j;
}

static zt_arm_error *transport_error(zt_arena *a, const zt_arm_http_resp *r,
                                     const char *client_request_id)
{
    zt_arm_error *e = zt_arm_error_parse(a, 0, NULL, 0);
    e->message = zt_arena_printf(a, "%s", r->transport_error ? r->transport_error
                                                             : zt_rc_str(r->rc));
    e->client_request_id = client_request_id;
    return e;
}

static bool on_arm_host(op *o, const char *url)
{
    const char *origin = zt_arm_url_origin(o->a, url);
    return origin && strcmp(origin, o->c->origin) == 0;
}

static zt_rc refuse_foreign(op *o, const char *url)
{
    zt_arm_error *e = zt_arm_error_parse(o->a, o->resp->status, NULL, 0);
    e->code = "UntrustedPollingUrl";
    e->message = zt_arena_printf(o->a, "refusing to send the ARM token to %s, which is not "
                                       "the configured ARM endpoint %s",
                                 zt_arm_redact_url(o->a, url), o->c->origin);
    o->resp->error = e;
    return ZT_ERR_REMOTE;
}

/* NULL (and *why) when the path is not a resource path. */
static const char *build_url(zt_arena *a, zt_arm_client *c, const zt_arm_req *req,
                             const char *api_version, const char **why)
{
    *why = NULL;
    if (strncasecmp(req->path, "https://", 8) == 0)
        return req->path; /* a nextLink: complete already */
    const char *path = zt_arm_url_path(a, req->path, why);
    if (!path)
        return NULL;
    zt_buf b;
    zt_buf_init(&b, a);
    zt_buf_printf(&b, "%s%s", c->cloud.resource_manager, path);
    zt_buf_printf(&b, "?api-version=%s", zt_arm_url_encode(a, api_version));
    if (req->query && *req->query)
        zt_buf_printf(&b, "&%s", req->query);
    return zt_buf_cstr(&b);
}

static void log_headers(zt_arena *a, const char *const *h, size_t n, const char *crid)
{
    if (!zt_log_enabled(ZT_LOG_TRACE))
        return;
    zt_buf b;
    zt_buf_init(&b, a);
    for (size_t i = 0; i < n; i++)
        zt_buf_printf(&b, "%s%s", i ? "; " : "", zt_arm_redact_header(a, h[i]));
    zt_log(ZT_LOG_TRACE, ZT_ARM_LOG, "arm request headers", "x-ms-client-request-id", crid,
           "headers", zt_buf_cstr(&b), NULL);
}

/* Sleep before a retry unless the deadline would pass first: then stop
 * now, with the last error, rather than sleep into a certain timeout. */
static zt_rc retry_sleep(op *o, int64_t delay)
{
    if (zt_arm_now_ms() + delay >= o->deadline)
        return ZT_ERR_TIMEOUT;
    zt_rc rc = zt_arm_sleep(delay, o->deadline, o->cancel);
    if (rc == ZT_OK)
        o->resp->retries++;
    return rc;
}

/* Retry-After is a floor: never earlier, and a little later at random so
 * that the requests a burst refused together do not all come back in the
 * same millisecond. */
static int64_t throttle_delay(int64_t after)
{
    int64_t d = after < 20 ? 20 : after;
    return d + (int64_t)(zt_arm_random_u64() % (uint64_t)(d / 10 + 1));
}

/* Could this attempt of a write have changed something in Azure? Only an
 * answer that refuses before acting (4xx, 503: the service did not take
 * it) says no; a lost answer, a re-sent request or a server error may
 * hide a write that happened. */
static bool attempt_may_write(zt_arm_method m, const zt_arm_http_resp *r)
{
    if (m == ZT_ARM_GET)
        return false;
    if (r->rc != ZT_OK)
        return r->maybe_sent || r->resent;
    if (r->resent)
        return true;
    return !(r->status >= 400 && r->status < 500) && r->status != 503;
}

/* ------------------------------------------------------------------ */
/* One request, retried until it gets an answer worth returning       */

static zt_rc authorize(op *o, const char **header, const char **token)
{
    zt_arm_error *err = NULL;
    zt_rc rc = zt_arm_cred_token(o->c->cred, o->a, o->deadline, o->cancel, token, &err);
    if (rc != ZT_OK) {
        if (err) {
            err->message = zt_arena_printf(o->a, "authentication failed: %s", err->message);
            o->resp->error = err;
        }
        return rc;
    }
    *header = zt_arena_secret_printf(o->a, "Authorization: Bearer %s", *token);
    return ZT_OK;
}

static zt_rc arm_send(op *o, zt_arm_method m, const char *url, const char *body,
                      zt_arm_http_resp *r)
{
    zt_arm_client *c = o->c;
    zt_arm_resp *resp = o->resp;
    zt_arm_bucket_kind bk = zt_arm_bucket_for(m);
    bool reauthed = false;
    if (!on_arm_host(o, url))
        return refuse_foreign(o, url);
    /* tries counts every attempt; charged only those that count against
     * max_attempts: a throttled request is the server setting the pace,
     * bounded by the deadline rather than by a count. */
    for (unsigned tries = 0, charged = 0;;) {
        ZT_TRY(zt_arm_pace_acquire(c->pacer, o->subscription, bk, o->serial_held, o->deadline,
                                   o->cancel));
        const char *auth, *token;
        ZT_TRY(authorize(o, &auth, &token));
        char crid[37];
        zt_arm_uuid4(crid);
        const char *headers[8];
        size_t nh = 0;
        headers[nh++] = auth;
        headers[nh++] = "Accept: application/json";
        headers[nh++] = zt_arena_printf(o->a, "x-ms-client-request-id: %s", crid);
        headers[nh++] = "x-ms-return-client-request-id: true";
        if (body)
            headers[nh++] = "Content-Type: application/json";
        if (m != ZT_ARM_GET && o->req->if_match)
            headers[nh++] = zt_arena_printf(o->a, "If-Match: %s", o->req->if_match);
        if (m != ZT_ARM_GET && o->req->if_none_match)
            headers[nh++] = zt_arena_printf(o->a, "If-None-Match: %s", o->req->if_none_match);
        log_headers(o->a, headers, nh, crid);
        zt_arm_http_req hr = {
            .method = zt_arm_method_name(m),
            .url = url,
            .headers = headers,
            .n_headers = nh,
            .body = body,
            .body_len = body ? strlen(body) : 0,
            .secret_request = true, /* the Authorization header */
            /* A POST with side effects must reach the server at most once
             * unless we decide otherwise: curl would resend it by itself
             * if a reused connection died under it. */
            .fresh_connection = !o->idempotent,
            .deadline_ms = o->deadline,
            .attempt_timeout_ms = c->attempt_timeout_ms,
            .cancel = o->cancel,
        };
        zt_arm_http_do(c->http, o->a, &hr, r);
        resp->maybe_written = resp->maybe_written || attempt_may_write(m, r);
        tries++;
        charged++;
        resp->attempts++;
        resp->client_request_id = zt_arena_strdup(o->a, crid);
        const char *rid = r->rc == ZT_OK ? zt_arm_http_header(r, "x-ms-request-id") : NULL;
        resp->request_id = rid ? rid : "";
        if (zt_log_enabled(ZT_LOG_DEBUG))
            zt_log(ZT_LOG_DEBUG, ZT_ARM_LOG, "arm request", "method", hr.method, "url",
                   zt_arm_redact_url(o->a, url), "x-ms-client-request-id", crid,
                   "x-ms-request-id", resp->request_id, "status",
                   zt_arena_printf(o->a, "%ld", r->status), "result", zt_rc_str(r->rc),
                   "elapsed_ms", zt_arena_printf(o->a, "%lld", (long long)r->elapsed_ms),
                   "attempt", zt_arena_printf(o->a, "%u", tries), NULL);

        if (r->rc != ZT_OK) {
            resp->error = transport_error(o->a, r, resp->client_request_id);
            if (r->rc == ZT_ERR_TIMEOUT || r->rc == ZT_ERR_CANCELLED)
                return r->rc;
            if (!zt_arm_retry_transport(m, o->idempotent, r) || charged >= c->max_attempts)
                return r->rc;
            ZT_TRY(retry_sleep(o, zt_arm_backoff_ms(tries - 1, c->retry_base_ms,
                                                    c->retry_cap_ms, zt_arm_random_u64())));
            continue;
        }
        resp->status = r->status;
        int64_t after = zt_arm_retry_after_ms(r, zt_arm_realtime_s());
        if (after > c->max_retry_after_ms)
            after = c->max_retry_after_ms;
        zt_arm_pace_observe(c->pacer, o->subscription, bk, r, after > 0 ? after : 0);
        if (r->status >= 200 && r->status < 300)
            return ZT_OK;

        zt_arm_error *err = zt_arm_error_parse(o->a, r->status, r->body, r->body_len);
        err->request_id = resp->request_id;
        err->client_request_id = resp->client_request_id;
        const char *corr = zt_arm_http_header(r, "x-ms-correlation-request-id");
        err->correlation_id = corr ? corr : "";
        resp->error = err;
        zt_arm_retry_kind kind = zt_arm_retry_status(m, o->idempotent, r->status, err);
        if (kind == ZT_ARM_RETRY_REAUTH && !reauthed) {
            /* An expired or revoked token: fetch a new one, once. */
            zt_arm_cred_invalidate(c->cred, token);
            reauthed = true;
            resp->retries++;
            continue;
        }
        bool throttled = (r->status == 429 || r->status == 503) && after >= 0;
        if (throttled)
            charged--;
        if (kind == ZT_ARM_RETRY_YES && charged < c->max_attempts) {
            int64_t delay = throttled ? throttle_delay(after)
                            : after >= 0 ? after
                                         : zt_arm_backoff_ms(tries - 1, c->retry_base_ms,
                                                             c->retry_cap_ms, zt_arm_random_u64());
            if (zt_log_enabled(ZT_LOG_DEBUG))
                zt_log(ZT_LOG_DEBUG, ZT_ARM_LOG, "arm request will be retried", "code", err->code,
                       "delay_ms", zt_arena_printf(o->a, "%lld", (long long)delay), NULL);
            ZT_TRY(retry_sleep(o, delay));
            continue;
        }
        /* A 404 about the subscription (unknown to ARM, or not visible to
         * these credentials: often another team's, as a hub is to its
         * spokes) says nothing of the resource: not "gone". */
        if (r->status == 404 && (m == ZT_ARM_GET || m == ZT_ARM_DELETE) &&
            !(err->code && strcasecmp(err->code, "SubscriptionNotFound") == 0))
            return ZT_ERR_NOTFOUND;
        return ZT_ERR_REMOTE;
    }
}

/* ------------------------------------------------------------------ */
/* Long-running operations                                            */

static zt_rc lro_error(op *o, const json_t *body, const char *state, long status)
{
    zt_arm_error *e = zt_arm_error_parse(o->a, status, NULL, 0);
    const json_t *je = json_object_get(body, "error");
    if (!json_is_object(je)) /* resource polling: properties.error, if anything */
        je = json_object_get(json_object_get(body, "properties"), "error");
    if (json_is_object(je)) {
        json_t *wrap = json_pack("{s:O}", "error", je);
        char *s = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
        if (s)
            e = zt_arm_error_parse(o->a, status, s, strlen(s));
        free(s);
        json_decref(wrap);
    }
    if (!*e->code)
        e->code = zt_arena_printf(o->a, "Operation%s", state);
    if (!*e->message)
        e->message = zt_arena_printf(o->a, "the operation ended in state %s", state);
    e->request_id = o->resp->request_id;
    e->client_request_id = o->resp->client_request_id;
    o->resp->error = e;
    o->resp->provisioning_state = zt_arena_strdup(o->a, state);
    o->lro_failed = true;
    return ZT_ERR_REMOTE;
}

static void note_state(op *o, const json_t *body, zt_arm_lro_kind kind)
{
    const char *s = zt_arm_lro_status_of(body, kind);
    if (s)
        o->resp->provisioning_state = zt_arena_strdup(o->a, s);
}

/* After the operation succeeded: fetch what the caller wants to see. */
static zt_rc lro_result(op *o, const zt_arm_lro *lro)
{
    zt_arm_method m = o->req->method;
    zt_arm_http_resp r;
    const char *url = NULL;
    if (m == ZT_ARM_PUT || m == ZT_ARM_PATCH)
        url = o->url; /* the final state of a PUT is the resource itself */
    else if (m == ZT_ARM_POST && lro->location && lro->kind == ZT_ARM_LRO_ASYNC_OP)
        url = lro->location; /* an action's result */
    if (!url) {
        o->resp->body = NULL;
        return ZT_OK;
    }
    zt_rc rc = arm_send(o, ZT_ARM_GET, url, NULL, &r);
    o->resp->body = parse_body(o->a, &r);
    if (rc == ZT_OK && o->resp->body)
        note_state(o, o->resp->body, ZT_ARM_LRO_RESOURCE);
    return rc;
}

static zt_rc poll_once(op *o, zt_arm_lro *lro, bool *done, int64_t *next_wait)
{
    zt_arm_method m = o->req->method;
    zt_arm_http_resp r;
    o->resp->polls++;
    zt_rc rc = arm_send(o, ZT_ARM_GET, lro->poll_url, NULL, &r);
    json_t *body = rc == ZT_OK || rc == ZT_ERR_REMOTE ? parse_body(o->a, &r) : NULL;
    if (rc == ZT_OK) {
        int64_t after = zt_arm_retry_after_ms(&r, zt_arm_realtime_s());
        if (after >= 0)
            *next_wait = after;
    }
    *done = true;
    switch (lro->kind) {
    case ZT_ARM_LRO_ASYNC_OP: {
        if (rc != ZT_OK)
            return rc;
        const char *st = zt_arm_lro_status_of(body, lro->kind);
        zt_arm_lro_state s = zt_arm_lro_state_parse(st);
        if (st)
            o->resp->provisioning_state = zt_arena_strdup(o->a, st);
        if (s == ZT_ARM_LRO_RUNNING) {
            *done = false;
            return ZT_OK;
        }
        if (s != ZT_ARM_LRO_SUCCEEDED)
            return lro_error(o, body, st, r.status);
        return lro_result(o, lro);
    }
    case ZT_ARM_LRO_LOCATION:
        if (rc == ZT_ERR_REMOTE || rc == ZT_ERR_NOTFOUND) {
            o->lro_failed = rc == ZT_ERR_REMOTE;
            return rc; /* the operation's failure, as an error status */
        }
        if (rc != ZT_OK)
            return rc;
        if (r.status == 202) {
            const char *next = zt_arm_http_header(&r, "Location");
            if (next && *next)
                lro->poll_url = zt_arena_strdup(o->a, next);
            *done = false;
            return ZT_OK;
        }
        o->resp->provisioning_state = "Succeeded";
        if (m == ZT_ARM_PUT || m == ZT_ARM_PATCH)
            return lro_result(o, lro);
        o->resp->body = body;
        return ZT_OK;
    case ZT_ARM_LRO_RESOURCE: {
        if (m == ZT_ARM_DELETE) {
            if (rc == ZT_ERR_NOTFOUND) { /* gone: that is what we wanted */
                o->resp->error = NULL;
                o->resp->body = NULL;
                o->resp->provisioning_state = "Deleted";
                return ZT_OK;
            }
            if (rc != ZT_OK)
                return rc;
            note_state(o, body, lro->kind);
            const char *st = zt_arm_provisioning_state(body);
            if (st && zt_arm_lro_state_parse(st) == ZT_ARM_LRO_FAILED)
                return lro_error(o, body, st, r.status);
            *done = false;
            return ZT_OK;
        }
        if (rc != ZT_OK)
            return rc;
        o->resp->body = body;
        const char *st = zt_arm_provisioning_state(body);
        if (st)
            o->resp->provisioning_state = zt_arena_strdup(o->a, st);
        zt_arm_lro_state s = zt_arm_lro_state_parse(st);
        if (!st || s == ZT_ARM_LRO_SUCCEEDED)
            return ZT_OK;
        if (s == ZT_ARM_LRO_RUNNING) {
            *done = false;
            return ZT_OK;
        }
        return lro_error(o, body, st, r.status);
    }
    case ZT_ARM_LRO_NONE:
        break;
    }
    return ZT_OK;
}

/* The wait before the next poll (zt_arm_lro_poll_wait). */
static int64_t poll_wait(op *o, int64_t server_wait, int64_t expected_end)
{
    zt_arm_client *c = o->c;
    zt_arm_poll_limits l = {.default_ms = c->poll_interval_ms, .min_ms = c->min_poll_interval_ms,
                            .max_ms = c->max_retry_after_ms};
    return zt_arm_lro_poll_wait(&l, server_wait, zt_arm_now_ms(), expected_end, o->deadline);
}

static zt_rc poll(op *o, zt_arm_lro *lro, const zt_arm_http_resp *first)
{
    zt_arm_client *c = o->c;
    o->resp->lro_url = lro->poll_url;
    if (!on_arm_host(o, lro->poll_url))
        return refuse_foreign(o, lro->poll_url);
    int64_t expected_end = 0;
    if (o->req->expected_ms > 0)
        expected_end = zt_arm_sat_add(zt_arm_now_ms(),
                                      (int64_t)((double)o->req->expected_ms * c->time_scale));
    int64_t wait = poll_wait(o, zt_arm_retry_after_ms(first, zt_arm_realtime_s()), expected_end);
    for (;;) {
        ZT_TRY(zt_arm_sleep(wait, o->deadline, o->cancel));
        bool done;
        int64_t server_wait = -1;
        zt_rc rc = poll_once(o, lro, &done, &server_wait);
        o->resp->lro_url = lro->poll_url;
        if (rc != ZT_OK || done)
            return rc;
        wait = poll_wait(o, server_wait, expected_end);
    }
}

/* ------------------------------------------------------------------ */
/* The operation                                                      */

static zt_rc run(op *o)
{
    zt_arm_method m = o->req->method;
    for (unsigned round = 1;; round++) {
        zt_arm_http_resp r;
        o->lro_failed = false;
        zt_rc rc = arm_send(o, m, o->url, o->body, &r);
        o->resp->body = r.rc == ZT_OK ? parse_body(o->a, &r) : NULL;
        if (rc != ZT_OK)
            return rc;
        if (o->resp->body)
            note_state(o, o->resp->body, ZT_ARM_LRO_RESOURCE);
        if (m == ZT_ARM_GET || (o->req->flags & ZT_ARM_NO_LRO))
            return ZT_OK;
        zt_arm_lro lro = zt_arm_lro_begin(o->a, m, o->url, &r, o->resp->body);
        if (lro.kind == ZT_ARM_LRO_NONE)
            return ZT_OK;
        rc = poll(o, &lro, &r);
        /* An operation that failed because another one got in the way
         * ("AnotherOperationInProgress", "CanceledAndSuperseded...") is
         * worth starting again; any other failure is final. */
        if (rc == ZT_ERR_REMOTE && o->lro_failed && o->idempotent &&
            round < o->c->max_attempts &&
            zt_arm_retry_status(m, true, 409, o->resp->error) == ZT_ARM_RETRY_YES) {
            ZT_TRY(retry_sleep(o, zt_arm_backoff_ms(round - 1, o->c->retry_base_ms,
                                                    o->c->retry_cap_ms, zt_arm_random_u64())));
            continue;
        }
        return rc;
    }
}

static bool is_write(zt_arm_method m) { return m != ZT_ARM_GET; }

static zt_rc invalid(zt_arm_resp *resp, zt_arena *a, const char *message)
{
    resp->error = zt_arm_error_parse(a, 0, NULL, 0);
    resp->error->code = "InvalidRequest";
    resp->error->message = message;
    return ZT_ERR_INVALID;
}

zt_rc zt_arm_do(zt_arm_client *c, zt_arena *a, const zt_arm_req *req, zt_arm_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->provisioning_state = "";
    resp->request_id = resp->client_request_id = "";
    int64_t start = zt_arm_now_ms();
    if (!zt_arm_method_name(req->method))
        return invalid(resp, a, "unknown method");
    if (!req->path || !*req->path)
        return invalid(resp, a, "no resource path");
    bool absolute = strncasecmp(req->path, "https://", 8) == 0;
    const char *api = req->api_version;
    if (!api && !absolute) {
        const char *type = req->resource_type ? req->resource_type
                                              : zt_arm_resource_type(a, req->path);
        api = zt_arm_api_version(type);
        if (!api)
            return invalid(resp, a, zt_arena_printf(a, "no api-version is known for resource "
                                                       "type %s", type ? type : req->path));
    }
    const char *why;
    const char *url = build_url(a, c, req, api, &why);
    if (!url)
        return invalid(resp, a, zt_arena_printf(a, "\"%s\" is not an ARM resource ID to send a "
                                                   "request to: %s", req->path, why));
    op o = {
        .c = c,
        .a = a,
        .req = req,
        .resp = resp,
        .url = url,
        .subscription = zt_arm_subscription_of(a, req->path),
        .cancel = req->cancel ? req->cancel : c->cancel,
        .deadline = req->deadline_ms ? req->deadline_ms : start + c->default_timeout_ms,
        .idempotent = req->method != ZT_ARM_POST || (req->flags & ZT_ARM_IDEMPOTENT_POST),
    };
    if (req->body) {
        char *s = json_dumps(req->body, JSON_COMPACT);
        if (!s)
            return invalid(resp, a, "the request body cannot be encoded");
        o.body = zt_arena_strdup(a, s);
        free(s);
    }
    bool serial = req->serial_scope && *req->serial_scope && is_write(req->method);
    zt_rc rc = ZT_OK;
    if (serial)
        rc = zt_arm_serial_lock(c->pacer, req->serial_scope, o.deadline, o.cancel);
    /* List reads filled before or during a write must not answer for it. */
    if (is_write(req->method))
        zt_arm_lists_invalidate(c->lists, req->path);
    if (rc == ZT_OK) {
        o.serial_held = serial;
        rc = run(&o);
        if (serial)
            zt_arm_serial_unlock(c->pacer, req->serial_scope);
    }
    if (is_write(req->method))
        zt_arm_lists_invalidate(c->lists, req->path);
    if (rc == ZT_OK)
        resp->error = NULL;
    resp->elapsed_ms = zt_arm_now_ms() - start;
    if (zt_log_enabled(rc == ZT_OK ? ZT_LOG_DEBUG : ZT_LOG_INFO))
        zt_log(rc == ZT_OK ? ZT_LOG_DEBUG : ZT_LOG_INFO, ZT_ARM_LOG, "arm operation done", "method",
               zt_arm_method_name(req->method), "url", zt_arm_redact_url(a, o.url), "result",
               zt_rc_str(rc), "status", zt_arena_printf(a, "%ld", resp->status),
               "provisioning_state", resp->provisioning_state, "x-ms-request-id",
               resp->request_id, "attempts", zt_arena_printf(a, "%u", resp->attempts),
               "elapsed_ms", zt_arena_printf(a, "%lld", (long long)resp->elapsed_ms), NULL);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Operations on threads of their own                                 */

struct zt_arm_op {
    pthread_t thread;
    zt_arm_client *c;
    zt_arena *arena;
    zt_arm_req req;
    json_t *body;
    zt_arm_resp resp;
    zt_rc rc;
};

static void *op_main(void *arg)
{
    zt_arm_op *op = arg;
    op->rc = zt_arm_do(op->c, op->arena, &op->req, &op->resp);
    return NULL;
}

zt_rc zt_arm_start(zt_arm_client *c, const zt_arm_req *req, zt_arm_op **out)
{
    zt_arm_op *op = calloc(1, sizeof(*op));
    if (!op)
        zt_panic("out of memory");
    op->c = c;
    op->arena = zt_arena_new();
    zt_arena *a = op->arena;
    op->req = *req;
    op->req.path = zt_arena_strdup(a, req->path);
    op->req.resource_type = zt_arena_strdup(a, req->resource_type);
    op->req.api_version = zt_arena_strdup(a, req->api_version);
    op->req.query = zt_arena_strdup(a, req->query);
    op->req.serial_scope = zt_arena_strdup(a, req->serial_scope);
    op->req.if_match = zt_arena_strdup(a, req->if_match);
    op->req.if_none_match = zt_arena_strdup(a, req->if_none_match);
    if (req->body) {
        /* a deep copy: the caller may keep changing its document */
        op->body = json_deep_copy(req->body);
        op->req.body = op->body;
    }
    if (!op->req.deadline_ms)
        op->req.deadline_ms = zt_arm_now_ms() + c->default_timeout_ms;
    if (pthread_create(&op->thread, NULL, op_main, op) != 0) {
        json_decref(op->body);
        zt_arena_free(op->arena);
        free(op);
        return ZT_ERR_IO;
    }
    *out = op;
    return ZT_OK;
}

static void arena_release(void *p) { zt_arena_free(p); }

zt_rc zt_arm_wait(zt_arm_op *op, zt_arena *a, zt_arm_resp *resp)
{
    pthread_join(op->thread, NULL);
    *resp = op->resp;
    zt_rc rc = op->rc;
    /* The response points into the op's arena: hand it to the caller's. */
    zt_arena_on_free(a, arena_release, op->arena);
    json_decref(op->body);
    free(op);
    return rc;
}
