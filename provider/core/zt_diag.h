/* zt_diag.h - diagnostics as Terraform shows them: severity, summary,
 * detail and the attribute path they point at. A zt_diags list lives in
 * the request's arena. */
#ifndef ZT_DIAG_H
#define ZT_DIAG_H

#include "zt_arena.h"

typedef enum zt_severity { ZT_SEV_ERROR = 1, ZT_SEV_WARNING = 2 } zt_severity;

typedef enum zt_step_kind {
    ZT_STEP_ATTR = 1,       /* .name (attribute or nested block) */
    ZT_STEP_KEY_STRING = 2, /* ["key"] map key */
    ZT_STEP_KEY_INT = 3     /* [3] list or tuple index */
} zt_step_kind;

typedef struct zt_step {
    zt_step_kind kind;
    const char *name; /* ATTR and KEY_STRING */
    int64_t index;    /* KEY_INT */
} zt_step;

/* Immutable once built; extending returns a new path sharing nothing. */
typedef struct zt_path {
    size_t len;
    zt_step *steps;
} zt_path;

zt_path *zt_path_root(zt_arena *a);
zt_path *zt_path_attr(zt_arena *a, const zt_path *p, const char *name);
zt_path *zt_path_key(zt_arena *a, const zt_path *p, const char *key);
zt_path *zt_path_index(zt_arena *a, const zt_path *p, int64_t index);
/* Human form, e.g. subnets[2].cidr or tags["owner"]. */
const char *zt_path_str(zt_arena *a, const zt_path *p);

typedef struct zt_diag {
    zt_severity severity;
    const char *summary;
    const char *detail;
    const zt_path *path; /* NULL: the whole block */
    struct zt_diag *next;
} zt_diag;

typedef struct zt_diags {
    zt_arena *arena;
    zt_diag *head;
    zt_diag *tail;
    size_t count;
    size_t errors;
} zt_diags;

void zt_diags_init(zt_diags *d, zt_arena *a);
zt_diag *zt_diag_add(zt_diags *d, zt_severity sev, const zt_path *path,
                     const char *summary, const char *detail_fmt, ...)
    ZT_PRINTF(5, 6);
/* Shorthands; both return ZT_ERR_INVALID / ZT_OK for direct use in return. */
zt_rc zt_diag_error(zt_diags *d, const zt_path *path, const char *summary,
                    const char *detail_fmt, ...) ZT_PRINTF(4, 5);
void zt_diag_warning(zt_diags *d, const zt_path *path, const char *summary,
                     const char *detail_fmt, ...) ZT_PRINTF(4, 5);
void zt_diags_append(zt_diags *dst, const zt_diags *src);
static inline bool zt_diags_has_errors(const zt_diags *d) { return d->errors > 0; }

#endif
