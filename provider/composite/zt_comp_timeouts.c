/* zt_comp_timeouts.c - the timeouts block: Go durations ("45m", "1h30m",
 * "1.5h") with the composite's defaults when absent. */
#include "zt_comp_internal.h"

#include <math.h>
#include <string.h>

static const struct { const char *unit; double ms; } g_units[] = {
    {"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"\xce\xbcs", 1e-3},
    {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3},
};

/* One "<number><unit>" element; advances *p. */
static bool duration_elem(const char **p, double *ms)
{
    const char *s = *p;
    double v = 0, scale = 0;
    bool digits = false;
    for (; *s >= '0' && *s <= '9'; s++, digits = true)
        v = v * 10 + (*s - '0');
    if (*s == '.') {
        double f = 0.1;
        for (s++; *s >= '0' && *s <= '9'; s++, f /= 10, digits = true)
            v += (*s - '0') * f;
    }
    if (!digits)
        return false;
    size_t best = 0;
    for (size_t i = 0; i < ZT_ARRAY_LEN(g_units); i++) {
        size_t n = strlen(g_units[i].unit);
        /* longest match: "ms" before "m" */
        if (strncmp(s, g_units[i].unit, n) == 0 && n > best) {
            best = n;
            scale = g_units[i].ms;
        }
    }
    if (!best)
        return false;
    *ms += v * scale;
    *p = s + best;
    return true;
}

zt_rc zt_comp_parse_duration(const char *s, int64_t *ms)
{
    if (!s || !*s)
        return ZT_ERR_INVALID;
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return ZT_OK;
    }
    double total = 0;
    if (!*s)
        return ZT_ERR_INVALID;
    while (*s)
        if (!duration_elem(&s, &total))
            return ZT_ERR_INVALID;
    if (neg || total > 9.2e15)
        return ZT_ERR_INVALID;
    *ms = (int64_t)ceil(total);
    return ZT_OK;
}

static const char *const g_names[] = {"create", "update", "delete", "read"};

int64_t zt_comp_timeout_ms(const zt_composite_def *def, const zt_cty_value *obj,
                           zt_comp_timeout which)
{
    const int64_t defaults[] = {def->default_create_ms, def->default_update_ms,
                                def->default_delete_ms, def->default_read_ms};
    int64_t ms = defaults[which] > 0 ? defaults[which] : 60 * 60 * 1000;
    const zt_cty_value *t = zt_cty_get_attr(obj, "timeouts");
    const zt_cty_value *v = zt_cty_get_attr(t, g_names[which]);
    int64_t parsed;
    if (v && !v->is_null && !v->is_unknown && v->type->kind == ZT_CTY_STRING &&
        zt_comp_parse_duration(v->u.str.ptr, &parsed) == ZT_OK && parsed > 0)
        ms = parsed;
    return ms;
}

zt_rc zt_comp_check_timeouts(zt_call *c, const zt_cty_value *config)
{
    const zt_cty_value *t = zt_cty_get_attr(config, "timeouts");
    zt_rc rc = ZT_OK;
    for (size_t i = 0; i < ZT_ARRAY_LEN(g_names); i++) {
        const zt_cty_value *v = zt_cty_get_attr(t, g_names[i]);
        int64_t ms;
        if (!v || v->is_null || v->is_unknown || v->type->kind != ZT_CTY_STRING)
            continue;
        if (zt_comp_parse_duration(v->u.str.ptr, &ms) != ZT_OK || ms <= 0) {
            zt_path *p = zt_path_attr(c->arena, zt_path_root(c->arena), "timeouts");
            rc = zt_diag_error(c->diags, zt_path_attr(c->arena, p, g_names[i]),
                               "Invalid timeout",
                               "\"%s\" is not a positive duration; write it as Go does, e.g. "
                               "\"45m\", \"1h30m\" or \"90s\".",
                               v->u.str.ptr);
        }
    }
    return rc;
}
