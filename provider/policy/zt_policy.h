/* zt_policy.h - Azure Policy rule evaluation against a resource body, for
 * policy-aware plans (provider/composite/zt_comp_policy.c).
 *
 * The language subset Microsoft's built-in definitions use
 * (third_party/azure-policy): if/then; allOf, anyOf, not; field (aliases of
 * provider/policy/aliases.json, type, name, fullName, location, id, kind,
 * tags, tags[x], tags.x, identity.*), value, count (field and value counts,
 * where); the operators equals, notEquals, in, notIn, exists, like,
 * notLike, contains, notContains, containsKey, notContainsKey, less,
 * lessOrEquals, greater, greaterOrEquals, match, notMatch,
 * matchInsensitively, notMatchInsensitively; template expressions with
 * parameters(), field(), current(), concat(), first(), last(), split(),
 * empty(), equals(), padLeft(), toLower(), toUpper(), if(), not(), and(),
 * or(), length(), contains(), resourceGroup(), subscription(),
 * requestContext(). Semantics as the emulator's (tests/emulator/
 * policy_eval.py): string comparisons ignore case (match excepted); a
 * field with [*] holds when it holds for every element; a legacy array
 * alias (no [*] in its name) when it holds for any; a property the body
 * lacks is null: exists false, equals '' hold, like/contains/in do not.
 *
 * Plans see bodies whose values may not be known yet: a string holding the
 * context's placeholder is unknown, and so is what depends on it (Kleene
 * logic: false wins allOf, true wins anyOf). A construct outside the subset
 * makes the result UNEVALUABLE, with the reason in ctx->why: never a
 * silent pass.
 */
#ifndef ZT_POLICY_H
#define ZT_POLICY_H

#include "zt_arena.h"
#include "zt_common.h"

#include <jansson.h>
#include <stdbool.h>

typedef enum zt_pol_result {
    ZT_POL_FALSE = 0,
    ZT_POL_TRUE = 1,
    ZT_POL_UNKNOWN = 2,      /* depends on a value not known yet */
    ZT_POL_UNEVALUABLE = 3,  /* outside the supported subset: ctx->why */
} zt_pol_result;

typedef struct zt_pol_frame zt_pol_frame;

typedef struct zt_pol_ctx {
    zt_arena *a;
    /* The resource: its body with "id", "name", "type" (and "location",
     * "tags" as they are). */
    const json_t *resource;
    /* In an existenceCondition: the resource the `if` matched, which the
     * field() function reads (conditions read `resource`, the related one). */
    const json_t *primary;
    const json_t *params;         /* the definition's parameter values (object) */
    const char *api_version;      /* requestContext().apiVersion */
    const json_t *resource_group; /* resourceGroup(); NULL: not known */
    const json_t *subscription;   /* subscription(); NULL: not known */
    /* Whether the type is one Indexed-mode definitions cover (it takes
     * tags and a location of its own). */
    bool indexed;
    /* Strings containing it are not known yet; NULL: all values known. */
    const char *placeholder;
    /* out */
    const char *why;              /* UNEVALUABLE: what the evaluator could not do */
    const char *property;         /* the last field that held in a deciding condition */
    const json_t *property_value;
    /* internal: the enclosing counts */
    zt_pol_frame *frames;
} zt_pol_ctx;

/* Whether the resource meets the definition's `if` (and its mode). */
zt_pol_result zt_pol_match(zt_pol_ctx *x, const json_t *definition);
/* An *IfNotExists definition's details.existenceCondition on a related
 * resource (x->resource; x->primary the matched one); TRUE without one. */
zt_pol_result zt_pol_exists(zt_pol_ctx *x, const json_t *definition);
/* A condition of the policy language (also a details.existenceCondition). */
zt_pol_result zt_pol_holds(zt_pol_ctx *x, const json_t *cond);
/* then.effect, resolved ("Deny", "audit", ...); NULL when it cannot be
 * (x->why says why). */
const char *zt_pol_effect(zt_pol_ctx *x, const json_t *definition);
/* A template expression ("[concat(...)]") or a literal, resolved; NULL
 * with *r UNKNOWN or UNEVALUABLE when it cannot be. Owned by the arena. */
json_t *zt_pol_resolve(zt_pol_ctx *x, const json_t *v, zt_pol_result *r);
/* The definition's parameter values: `given` (name -> value), else the
 * defaults. A new object owned by the arena. */
json_t *zt_pol_param_values(zt_arena *a, const json_t *definition, const json_t *given);

/* The alias table (aliases.json, embedded): the body path of an alias
 * (case-insensitive) and whether it is a legacy array alias; NULL when
 * unknown. */
const char *zt_pol_alias_path(const char *alias, bool *legacy_any);
/* The i-th alias name; NULL past the last (tests). */
const char *zt_pol_alias_at(size_t i);

#endif
