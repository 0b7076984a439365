/* zt_arm_lro.c - recognising and reading long-running operations.
 *
 * Order of preference (docs/azure-arm.md 2.3, as the Azure SDKs do):
 * Azure-AsyncOperation, then Location, then the resource itself while its
 * provisioningState is not terminal. And how long Azure usually takes to
 * update or delete a resource, for when to poll it first.
 */
#include "zt_arm_internal.h"

#include <string.h>
#include <strings.h>

zt_arm_lro_state zt_arm_lro_state_parse(const char *s)
{
    if (!s)
        return ZT_ARM_LRO_RUNNING;
    if (strcasecmp(s, "Succeeded") == 0)
        return ZT_ARM_LRO_SUCCEEDED;
    if (strcasecmp(s, "Failed") == 0)
        return ZT_ARM_LRO_FAILED;
    if (strcasecmp(s, "Canceled") == 0 || strcasecmp(s, "Cancelled") == 0)
        return ZT_ARM_LRO_CANCELED;
    /* InProgress, Accepted, Creating, Updating, Deleting, Running, ... and
     * whatever an RP invents next: keep polling. */
    return ZT_ARM_LRO_RUNNING;
}

const char *zt_arm_provisioning_state(const json_t *body)
{
    const json_t *props = json_object_get(body, "properties");
    const json_t *ps = json_object_get(props, "provisioningState");
    if (!json_is_string(ps)) /* a few RPs put it at the top level */
        ps = json_object_get(body, "provisioningState");
    return json_is_string(ps) ? json_string_value(ps) : NULL;
}

const char *zt_arm_lro_status_of(const json_t *body, zt_arm_lro_kind kind)
{
    if (kind == ZT_ARM_LRO_ASYNC_OP) {
        const json_t *st = json_object_get(body, "status");
        return json_is_string(st) ? json_string_value(st) : NULL;
    }
    return zt_arm_provisioning_state(body);
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* Whether url addresses the resource itself: same path, ignoring the
 * scheme/host, the query and letter case (ARM IDs are case-insensitive). */
static bool same_resource(const char *url, const char *resource_url)
{
    const char *a = strstr(url, "/subscriptions/");
    const char *b = strstr(resource_url, "/subscriptions/");
    if (!a || !b)
        return false;
    size_t la = strcspn(a, "?"), lb = strcspn(b, "?");
    return la == lb && strncasecmp(a, b, la) == 0;
}

zt_arm_lro zt_arm_lro_begin(zt_arena *a, zt_arm_method m, const char *resource_url,
                            const zt_arm_http_resp *r, const json_t *body)
{
    zt_arm_lro lro = {0};
    if (m == ZT_ARM_GET || r->status < 200 || r->status >= 300 || r->status == 204)
        return lro;
    const char *async = nonempty(zt_arm_http_header(r, "Azure-AsyncOperation"));
    const char *loc = nonempty(zt_arm_http_header(r, "Location"));
    lro.location = loc ? zt_arena_strdup(a, loc) : NULL;
    if (async) {
        lro.kind = ZT_ARM_LRO_ASYNC_OP;
        lro.poll_url = zt_arena_strdup(a, async);
        return lro;
    }
    if (loc && r->status == 202) {
        lro.kind = ZT_ARM_LRO_LOCATION;
        lro.poll_url = lro.location;
        return lro;
    }
    /* On a 200/201 a Location is an operation to follow (private DNS zones
     * answer so: "final-state-via: location") unless the body is already
     * terminal or the Location is just the resource's own address. */
    if (loc && (m == ZT_ARM_PUT || m == ZT_ARM_PATCH) && !same_resource(loc, resource_url)) {
        const char *ps = zt_arm_provisioning_state(body);
        if (!ps || zt_arm_lro_state_parse(ps) == ZT_ARM_LRO_RUNNING) {
            lro.kind = ZT_ARM_LRO_LOCATION;
            lro.poll_url = lro.location;
            return lro;
        }
    }
    if (r->status == 202 && (m == ZT_ARM_DELETE || m == ZT_ARM_PUT || m == ZT_ARM_PATCH)) {
        /* Accepted without a status URL: watch the resource itself (for a
         * DELETE, until it is gone). */
        lro.kind = ZT_ARM_LRO_RESOURCE;
        lro.poll_url = zt_arena_strdup(a, resource_url);
        return lro;
    }
    if (m == ZT_ARM_PUT || m == ZT_ARM_PATCH) {
        const char *ps = zt_arm_provisioning_state(body);
        if (ps && zt_arm_lro_state_parse(ps) == ZT_ARM_LRO_RUNNING) {
            lro.kind = ZT_ARM_LRO_RESOURCE;
            lro.poll_url = zt_arena_strdup(a, resource_url);
        }
    }
    return lro;
}

/* The server's wait (Retry-After), else ours; while the operation's
 * expected duration has not run out, three quarters of what is left of
 * it, since polls before then mostly hear "InProgress" (a 10-minute
 * firewall is polled a few times near its end, not every 10 s). That skip
 * is a whole number of the server's intervals: the polls it leaves are
 * ones the server's pace would have made, so the end is heard no later
 * than at that pace (a 60 s write polled every 10 s: at 40, 50 and 60 s,
 * not at 45, 56 and 66 s). Never closer than the floor, never an endless
 * wait, and an estimate never sleeps past the deadline. */
int64_t zt_arm_lro_poll_wait(const zt_arm_poll_limits *l, int64_t server_wait, int64_t now,
                             int64_t expected_end, int64_t deadline)
{
    int64_t wait = server_wait >= 0 ? server_wait : l->default_ms;
    if (wait < l->min_ms)
        wait = l->min_ms;
    if (expected_end > now && wait > 0) {
        int64_t ahead = (expected_end - now) / 4 * 3;
        if (ahead > l->max_ms)
            ahead = l->max_ms;
        ahead = ahead / wait * wait;
        if (ahead > wait && zt_arm_sat_add(now, ahead) < deadline)
            wait = ahead;
    }
    if (wait > l->max_ms)
        wait = l->max_ms;
    if (wait < l->min_ms)
        wait = l->min_ms;
    return wait;
}

/* Azure's usual update and delete durations per type, Azure seconds
 * (zt_arm_durations.def says where they come from; the emulator reads the
 * same file). */
typedef struct arm_duration {
    const char *type;
    double update_s, delete_s;
} arm_duration;

static const arm_duration arm_durations[] = {
#define ZT_ARM_DURATION(type, update_s, delete_s) {type, update_s, delete_s},
#include "zt_arm_durations.def"
#undef ZT_ARM_DURATION
};

int64_t zt_arm_expected_ms(const char *resource_type, zt_arm_method m)
{
    if (!resource_type || (m != ZT_ARM_PUT && m != ZT_ARM_PATCH && m != ZT_ARM_DELETE))
        return 0;
    for (size_t i = 0; i < sizeof(arm_durations) / sizeof(arm_durations[0]); i++) {
        const arm_duration *d = &arm_durations[i];
        if (strcasecmp(d->type, resource_type) == 0)
            return (int64_t)((m == ZT_ARM_DELETE ? d->delete_s : d->update_s) * 1000.0);
    }
    return 0;
}
