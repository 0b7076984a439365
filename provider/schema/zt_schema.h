/* zt_schema.h - resource, data source and provider schemas as data.
 *
 * Schemas are written as JSON files in schemas/ (one per provider block,
 * resource and data source) and embedded in the binary at build time.
 * The provider binary links them as data the build made from them
 * (tools/prebuilt_schemas.c); elsewhere they are parsed once, on first
 * use, into a process-lifetime arena. Shared read-only by every RPC.
 */
#ifndef ZT_SCHEMA_H
#define ZT_SCHEMA_H

#include "zt_cty.h"

typedef enum zt_nesting {
    ZT_NEST_SINGLE = 1,
    ZT_NEST_LIST = 2,
    ZT_NEST_SET = 3,
    ZT_NEST_MAP = 4,
    ZT_NEST_GROUP = 5
} zt_nesting;

typedef struct zt_schema_block zt_schema_block;

typedef struct zt_schema_attr {
    const char *name;
    const zt_cty_type *type;        /* NULL when nested_* is used */
    zt_nesting nested_mode;         /* nested attribute type (v6), 0 if none */
    const struct zt_schema_attr *nested_attrs;
    size_t n_nested_attrs;
    const char *description;        /* Markdown */
    bool required, optional, computed, sensitive, deprecated, write_only;
    bool requires_replace;          /* a change plans a replacement */
    /* Planned (and stored) where the configuration has null; optional +
     * computed attributes only. A string default may name sibling string
     * attributes as ${name}. NULL: none. */
    const zt_cty_value *default_value;
} zt_schema_attr;

typedef struct zt_schema_nested_block {
    const char *type_name;
    zt_nesting nesting;
    int64_t min_items, max_items;
    const zt_schema_block *block;
} zt_schema_nested_block;

struct zt_schema_block {
    const zt_schema_attr *attrs;
    size_t n_attrs;
    const zt_schema_nested_block *blocks;
    size_t n_blocks;
    const char *description;
    bool deprecated;
};

typedef enum zt_schema_kind {
    ZT_SCHEMA_PROVIDER = 1,
    ZT_SCHEMA_RESOURCE,
    ZT_SCHEMA_DATA_SOURCE
} zt_schema_kind;

typedef struct zt_schema {
    zt_schema_kind kind;
    const char *name;  /* type name, e.g. "zerotrust_address_plan"; "provider" */
    int64_t version;
    const zt_schema_block *block;
    const zt_cty_type *type; /* the object type of the block's value */
} zt_schema;

/* Parse one schema document (see schemas/README.md for the format) and
 * check it against Terraform's schema rules. Returns ZT_ERR_DECODE for a
 * malformed document, ZT_ERR_INVALID for a rule violation; the error
 * details name the schema and the attribute path inside it. */
zt_rc zt_schema_parse(zt_arena *a, const char *json, size_t len, zt_schema **out,
                      zt_diags *d);

/* The cty type of a block value (attributes and nested blocks). */
const zt_cty_type *zt_schema_block_type(zt_arena *a, const zt_schema_block *b);
/* The cty type of one attribute's value: its type, or for a nested_type
 * the object of its attributes wrapped by the nesting mode (LIST/MAP of
 * objects containing dynamic types become dynamic, as for blocks). */
const zt_cty_type *zt_schema_attr_type(zt_arena *a, const zt_schema_attr *attr);

/* value (an object of b's type) with every attribute that has a default
 * and is null in config set to it, recursing into single nested
 * attributes; config NULL: where value itself is null (state written
 * before, an import). A default naming an unknown sibling is unknown.
 * An optional + computed attribute without a default that the
 * configuration leaves out keeps its prior value, and is null (not
 * unknown) at create. */
const zt_cty_value *zt_schema_defaults(zt_arena *a, const zt_schema_block *b,
                                       const zt_cty_value *config, const zt_cty_value *value);

/* The embedded schemas, prebuilt or parsed once (thread-safe). Returns
 * NULL for an unknown name. */
const zt_schema *zt_schema_provider(void);
const zt_schema *zt_schema_find(zt_schema_kind kind, const char *name);
/* All embedded schemas of a kind, for GetProviderSchema. */
size_t zt_schema_list(zt_schema_kind kind, const zt_schema ***out);

/* The schemas as the build made them from the same documents (tools/
 * prebuilt_schemas.c; linked into the provider binary only): the
 * registry then parses nothing. by_kind[k] is sorted by name. */
typedef struct zt_schema_prebuilt {
    const zt_schema **by_kind[4];
    size_t n[4];
} zt_schema_prebuilt;
/* The registry parsed from the documents whatever is linked in (tests
 * compare the two); a new arena-backed copy each call. */
zt_rc zt_schema_parse_all(zt_arena *a, zt_schema_prebuilt *out, zt_diags *d);

#endif
