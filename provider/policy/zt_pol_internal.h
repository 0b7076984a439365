/* zt_pol_internal.h - what the policy evaluator's files share: values
 * owned by the arena, their comparison, fields, and the count frames. */
#ifndef ZT_POL_INTERNAL_H
#define ZT_POL_INTERNAL_H

#include "zt_policy.h"

/* One enclosing count: its array's body path ("properties.subnets[*]") or,
 * for a value count, its name; the element being looked at. */
struct zt_pol_frame {
    const char *path;     /* NULL for a value count */
    const char *name;     /* value count: its `name` */
    const json_t *elem;
    zt_pol_frame *up;
};

/* How a field's value is to be compared. */
typedef enum zt_pol_fan {
    ZT_POL_ONE,  /* one value (NULL: absent) */
    ZT_POL_ALL,  /* [*]: every element must hold */
    ZT_POL_ANY,  /* legacy array alias: one element is enough */
} zt_pol_fan;

/* A JSON value owned by the arena (the reference is stolen). */
json_t *zt_pol_own(zt_arena *a, json_t *v);
/* The value's text for comparisons: "" for null, "true"/"false", whole
 * numbers without a decimal point, compact sorted JSON for containers. */
const char *zt_pol_str(zt_arena *a, const json_t *v);
/* Whether v holds the placeholder (anywhere, for containers). */
bool zt_pol_unknown(const zt_pol_ctx *x, const json_t *v);
/* Azure Policy's equality: numbers by value, everything else by text,
 * ignoring case. */
bool zt_pol_eq(zt_arena *a, const json_t *p, const json_t *q);

/* A field reference ("type", "tags[x]", an alias): its value(s). NULL
 * *values with UNEVALUABLE when the name is unknown. */
zt_pol_result zt_pol_field(zt_pol_ctx *x, const char *name, zt_pol_fan *fan, json_t **values);
/* current('alias') / current('name') inside a count. */
zt_pol_result zt_pol_current(zt_pol_ctx *x, const char *name, json_t **value);

zt_pol_result zt_pol_unevaluable(zt_pol_ctx *x, const char *fmt, ...) ZT_PRINTF(2, 3);
/* doc.k1.k2... (NULL-terminated keys); NULL when absent. */
const json_t *zt_pol_json_path(const json_t *doc, ...);

#endif
