/* zt_arm_error.c - ARM and Entra error bodies, and diagnostics from them. */
#include "zt_arm_internal.h"
#include "zt_utf8.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define MAX_DETAIL_DEPTH 4

static const char *jstr(zt_arena *a, const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        return zt_arena_strdup(a, json_string_value(v));
    return "";
}

static void fill_error(zt_arena *a, zt_arm_error *e, const json_t *o, int depth)
{
    e->code = jstr(a, o, "code");
    e->message = jstr(a, o, "message");
    e->target = jstr(a, o, "target");
    const json_t *det = json_object_get(o, "details");
    if (depth >= MAX_DETAIL_DEPTH || !json_is_array(det) || json_array_size(det) == 0)
        return;
    e->n_details = json_array_size(det);
    e->details = zt_arena_calloc(a, e->n_details, sizeof(zt_arm_error));
    for (size_t i = 0; i < e->n_details; i++) {
        zt_arm_error *d = &e->details[i];
        d->status = e->status;
        d->request_id = d->correlation_id = d->client_request_id = "";
        const json_t *item = json_array_get(det, i);
        if (json_is_object(item))
            fill_error(a, d, item, depth + 1);
        else
            d->code = d->message = d->target = "";
    }
}

/* The body as a message when it is not JSON: trimmed, bounded. */
static const char *text_message(zt_arena *a, const char *body, size_t len)
{
    while (len && isspace((unsigned char)*body)) {
        body++;
        len--;
    }
    while (len && isspace((unsigned char)body[len - 1]))
        len--;
    size_t keep = zt_utf8_cut(body, len, 512);
    const char *text = zt_utf8_fix(a, zt_arena_strndup(a, body, keep), keep);
    return keep < len ? zt_arena_printf(a, "%s...", text) : text;
}

zt_arm_error *zt_arm_error_parse(zt_arena *a, long status, const char *body, size_t len)
{
    zt_arm_error *e = zt_arena_alloc(a, sizeof(*e));
    e->status = status;
    e->code = e->message = e->target = "";
    e->request_id = e->correlation_id = e->client_request_id = "";
    if (!body || !len)
        return e;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(root)) {
        e->message = text_message(a, body, len);
        json_decref(root);
        return e;
    }
    const json_t *inner = json_object_get(root, "error");
    if (json_is_object(inner)) {
        fill_error(a, e, inner, 0); /* ARM: {"error":{code,message,...}} */
    } else if (json_is_string(inner)) {
        /* Entra: {"error":"invalid_client","error_description":"AADSTS..."} */
        e->code = zt_arena_strdup(a, json_string_value(inner));
        e->message = jstr(a, root, "error_description");
        e->request_id = jstr(a, root, "trace_id");
        e->correlation_id = jstr(a, root, "correlation_id");
    } else {
        fill_error(a, e, root, 0); /* some RPs drop the envelope */
    }
    if (!*e->code && !*e->message)
        e->message = text_message(a, body, len);
    json_decref(root);
    return e;
}

bool zt_arm_error_has_code(const zt_arm_error *e, const char *code)
{
    if (!e || !code)
        return false;
    if (e->code && strcasecmp(e->code, code) == 0)
        return true;
    for (size_t i = 0; i < e->n_details; i++)
        if (zt_arm_error_has_code(&e->details[i], code))
            return true;
    return false;
}

static void error_append(zt_buf *b, const zt_arm_error *e, int depth)
{
    if (depth == 0 && e->status)
        zt_buf_printf(b, "HTTP %ld", e->status);
    if (*e->code)
        zt_buf_printf(b, "%s%s", depth == 0 && e->status ? " " : "", e->code);
    if (*e->message)
        zt_buf_printf(b, "%s%s", (*e->code || (depth == 0 && e->status)) ? ": " : "",
                      e->message);
    if (*e->target)
        zt_buf_printf(b, " (target %s)", e->target);
    for (size_t i = 0; i < e->n_details; i++) {
        zt_buf_printf(b, "\n%*s- ", 2 * (depth + 1), "");
        error_append(b, &e->details[i], depth + 1);
    }
}

const char *zt_arm_error_str(zt_arena *a, const zt_arm_error *e)
{
    zt_buf b;
    zt_buf_init(&b, a);
    error_append(&b, e, 0);
    if (*e->request_id)
        zt_buf_printf(&b, "\n(x-ms-request-id %s)", e->request_id);
    if (*e->client_request_id)
        zt_buf_printf(&b, "%s(x-ms-client-request-id %s)", *e->request_id ? " " : "\n",
                      e->client_request_id);
    return zt_buf_cstr(&b);
}

static const char *duration_str(zt_arena *a, int64_t ms)
{
    int64_t s = ms / 1000;
    if (s >= 60)
        return zt_arena_printf(a, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
    return zt_arena_printf(a, "%lld.%03llds", (long long)s, (long long)(ms % 1000));
}

zt_rc zt_arm_diag(zt_diags *d, zt_rc rc, const zt_arm_req *req, const zt_arm_resp *resp,
                  const char *summary)
{
    if (rc == ZT_OK)
        return ZT_OK;
    zt_arena *a = d->arena;
    zt_buf b;
    zt_buf_init(&b, a);
    const char *method = zt_arm_method_name(req->method);
    zt_buf_printf(&b, "%s %s", method ? method : "?", req->path ? req->path : "");
    switch (rc) {
    case ZT_ERR_TIMEOUT:
        zt_buf_printf(&b, " did not finish before its deadline (after %s).",
                      duration_str(a, resp->elapsed_ms));
        break;
    case ZT_ERR_CANCELLED:
        zt_buf_puts(&b, " was interrupted because Terraform asked the provider to stop.");
        break;
    case ZT_ERR_NOTFOUND:
        zt_buf_puts(&b, ": not found.");
        break;
    case ZT_ERR_REMOTE:
        zt_buf_puts(&b, " was refused by Azure.");
        break;
    default:
        zt_buf_printf(&b, " failed: %s.", zt_rc_str(rc));
        break;
    }
    if (resp->lro_url && *resp->lro_url)
        zt_buf_printf(&b, "\nThe operation is long-running; Azure may still be working on "
                          "it (last provisioningState \"%s\").",
                      resp->provisioning_state ? resp->provisioning_state : "");
    if (resp->error)
        zt_buf_printf(&b, "\n%s", zt_arm_error_str(a, resp->error));
    else if (resp->client_request_id && *resp->client_request_id)
        zt_buf_printf(&b, "\n(x-ms-client-request-id %s)", resp->client_request_id);
    if (resp->retries)
        zt_buf_printf(&b, "\n%u retr%s were made.", resp->retries,
                      resp->retries == 1 ? "y" : "ies");
    zt_diag_add(d, ZT_SEV_ERROR, NULL, summary ? summary : "Azure Resource Manager error",
                "%s", zt_buf_cstr(&b));
    return rc;
}
