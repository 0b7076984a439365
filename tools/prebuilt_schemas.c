/* prebuilt_schemas - writes, as C the build links into the provider binary,
 * what the provider would otherwise make from its schema documents in
 * every process: the schemas as data (zt_schema, their cty types and
 * defaults) and the GetProviderSchema answer, encoded by the provider's
 * own code. zt_schema.c and zt_rpc.c use them when they are linked in.
 *
 *   prebuilt_schemas OUTPUT.c
 */
#include "zt_rpc.h"
#include "zt_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;
static unsigned next_id;

/* What was written already, by address: shared types stay shared. */
static struct seen {
    const void *p;
    unsigned id;
} *seen;
static size_t n_seen, cap_seen;

static unsigned seen_id(const void *p)
{
    for (size_t i = 0; i < n_seen; i++)
        if (seen[i].p == p)
            return seen[i].id;
    return 0;
}

static unsigned remember(const void *p)
{
    if (n_seen == cap_seen) {
        cap_seen = cap_seen ? cap_seen * 2 : 256;
        seen = realloc(seen, cap_seen * sizeof(*seen));
        if (!seen)
            abort();
    }
    seen[n_seen].p = p;
    seen[n_seen].id = ++next_id;
    return seen[n_seen++].id;
}

/* A C string literal (NULL: NULL); bytes outside printable ASCII as
 * three-digit octal escapes. */
static void str(const char *s)
{
    if (!s) {
        fputs("NULL", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p >= 0x20 && *p < 0x7f && *p != '?') /* '?': no trigraphs */
            fputc(*p, out);
        else
            fprintf(out, "\\%03o", *p);
    }
    fputc('"', out);
}

static void type_ref(const zt_cty_type *t);

static unsigned emit_type(const zt_cty_type *t)
{
    unsigned id = seen_id(t);
    if (id)
        return id;
    if (t->elem && !seen_id(t->elem) && t->elem->kind >= ZT_CTY_LIST)
        emit_type(t->elem);
    for (size_t i = 0; i < t->n; i++)
        if (t->types[i]->kind >= ZT_CTY_LIST)
            emit_type(t->types[i]);
    id = remember(t);
    if (t->n && t->names) {
        fprintf(out, "static const char *t%u_names[] = {", id);
        for (size_t i = 0; i < t->n; i++) {
            str(t->names[i]);
            fputc(',', out);
        }
        fputs("};\n", out);
    }
    if (t->n) {
        fprintf(out, "static const zt_cty_type *t%u_types[] = {", id);
        for (size_t i = 0; i < t->n; i++) {
            type_ref(t->types[i]);
            fputc(',', out);
        }
        fputs("};\n", out);
    }
    if (t->optional) {
        fprintf(out, "static const bool t%u_optional[] = {", id);
        for (size_t i = 0; i < t->n; i++)
            fprintf(out, "%d,", t->optional[i]);
        fputs("};\n", out);
    }
    fprintf(out, "static const zt_cty_type t%u = {.kind = %d, .elem = ", id, (int)t->kind);
    if (t->elem)
        type_ref(t->elem);
    else
        fputs("NULL", out);
    fprintf(out, ", .n = %zu", t->n);
    if (t->n && t->names)
        fprintf(out, ", .names = t%u_names", id);
    if (t->n)
        fprintf(out, ", .types = t%u_types", id);
    if (t->optional)
        fprintf(out, ", .optional = t%u_optional", id);
    fputs("};\n", out);
    return id;
}

static void type_ref(const zt_cty_type *t)
{
    switch (t->kind) {
    case ZT_CTY_STRING: fputs("&zt_cty_string_type", out); return;
    case ZT_CTY_NUMBER: fputs("&zt_cty_number_type", out); return;
    case ZT_CTY_BOOL: fputs("&zt_cty_bool_type", out); return;
    case ZT_CTY_DYNAMIC: fputs("&zt_cty_dynamic_type", out); return;
    default: fprintf(out, "&t%u", emit_type(t));
    }
}

static unsigned emit_value(const zt_cty_value *v)
{
    unsigned id = seen_id(v);
    if (id)
        return id;
    if (v->is_unknown || v->refine) {
        fprintf(stderr, "prebuilt_schemas: an unknown value in a schema\n");
        exit(1);
    }
    zt_cty_kind k = v->type->kind;
    bool coll = !v->is_null && k >= ZT_CTY_LIST;
    if (v->type->kind >= ZT_CTY_LIST)
        emit_type(v->type);
    if (coll) {
        for (size_t i = 0; i < v->u.coll.n; i++)
            emit_value(v->u.coll.elems[i]);
    }
    id = remember(v);
    if (coll && v->u.coll.n) {
        fprintf(out, "static const zt_cty_value *v%u_elems[] = {", id);
        for (size_t i = 0; i < v->u.coll.n; i++)
            fprintf(out, "&v%u,", seen_id(v->u.coll.elems[i]));
        fputs("};\n", out);
        if (v->u.coll.keys) {
            fprintf(out, "static const char *v%u_keys[] = {", id);
            for (size_t i = 0; i < v->u.coll.n; i++) {
                str(v->u.coll.keys[i]);
                fputc(',', out);
            }
            fputs("};\n", out);
        }
    }
    fprintf(out, "static const zt_cty_value v%u = {.type = ", id);
    type_ref(v->type);
    fprintf(out, ", .is_null = %d", v->is_null);
    if (!v->is_null) {
        switch (k) {
        case ZT_CTY_STRING:
            fputs(", .u.str = {", out);
            str(v->u.str.ptr);
            fprintf(out, ", %zu}", v->u.str.len);
            break;
        case ZT_CTY_NUMBER:
            fputs(", .u.num = ", out);
            str(v->u.num);
            break;
        case ZT_CTY_BOOL: fprintf(out, ", .u.b = %d", v->u.b); break;
        case ZT_CTY_DYNAMIC: break;
        default:
            fprintf(out, ", .u.coll = {%zu", v->u.coll.n);
            if (v->u.coll.n)
                fprintf(out, ", v%u_elems", id);
            else
                fputs(", NULL", out);
            if (v->u.coll.n && v->u.coll.keys)
                fprintf(out, ", v%u_keys", id);
            fputc('}', out);
        }
    }
    fputs("};\n", out);
    return id;
}

static unsigned emit_attrs(const zt_schema_attr *attrs, size_t n);

static void attr_deps(const zt_schema_attr *a)
{
    if (a->type && a->type->kind >= ZT_CTY_LIST)
        emit_type(a->type);
    if (a->default_value)
        emit_value(a->default_value);
    if (a->n_nested_attrs)
        emit_attrs(a->nested_attrs, a->n_nested_attrs);
}

static unsigned emit_attrs(const zt_schema_attr *attrs, size_t n)
{
    unsigned id = seen_id(attrs);
    if (id)
        return id;
    for (size_t i = 0; i < n; i++)
        attr_deps(&attrs[i]);
    id = remember(attrs);
    fprintf(out, "static const zt_schema_attr a%u[] = {\n", id);
    for (size_t i = 0; i < n; i++) {
        const zt_schema_attr *a = &attrs[i];
        fputs("  {.name = ", out);
        str(a->name);
        fputs(", .type = ", out);
        if (a->type)
            type_ref(a->type);
        else
            fputs("NULL", out);
        fprintf(out, ", .nested_mode = %d", (int)a->nested_mode);
        if (a->n_nested_attrs)
            fprintf(out, ", .nested_attrs = a%u, .n_nested_attrs = %zu",
                    seen_id(a->nested_attrs), a->n_nested_attrs);
        fputs(", .description = ", out);
        str(a->description);
        fprintf(out, ", .required = %d, .optional = %d, .computed = %d, .sensitive = %d, "
                     ".deprecated = %d, .write_only = %d, .requires_replace = %d",
                a->required, a->optional, a->computed, a->sensitive, a->deprecated,
                a->write_only, a->requires_replace);
        if (a->default_value)
            fprintf(out, ", .default_value = &v%u", seen_id(a->default_value));
        fputs("},\n", out);
    }
    fputs("};\n", out);
    return id;
}

static unsigned emit_block(const zt_schema_block *b)
{
    unsigned id = seen_id(b);
    if (id)
        return id;
    if (b->n_attrs)
        emit_attrs(b->attrs, b->n_attrs);
    for (size_t i = 0; i < b->n_blocks; i++)
        emit_block(b->blocks[i].block);
    id = remember(b);
    if (b->n_blocks) {
        fprintf(out, "static const zt_schema_nested_block b%u_blocks[] = {\n", id);
        for (size_t i = 0; i < b->n_blocks; i++) {
            const zt_schema_nested_block *nb = &b->blocks[i];
            fputs("  {.type_name = ", out);
            str(nb->type_name);
            fprintf(out, ", .nesting = %d, .min_items = %lld, .max_items = %lld, .block = &b%u},\n",
                    (int)nb->nesting, (long long)nb->min_items, (long long)nb->max_items,
                    seen_id(nb->block));
        }
        fputs("};\n", out);
    }
    fprintf(out, "static const zt_schema_block b%u = {", id);
    if (b->n_attrs)
        fprintf(out, ".attrs = a%u, .n_attrs = %zu, ", seen_id(b->attrs), b->n_attrs);
    if (b->n_blocks)
        fprintf(out, ".blocks = b%u_blocks, .n_blocks = %zu, ", id, b->n_blocks);
    fputs(".description = ", out);
    str(b->description);
    fprintf(out, ", .deprecated = %d};\n", b->deprecated);
    return id;
}

static unsigned emit_schema(const zt_schema *s)
{
    unsigned block = emit_block(s->block);
    emit_type(s->type);
    unsigned id = remember(s);
    fprintf(out, "static const zt_schema s%u = {.kind = %d, .name = ", id, (int)s->kind);
    str(s->name);
    fprintf(out, ", .version = %lld, .block = &b%u, .type = ", (long long)s->version, block);
    type_ref(s->type);
    fputs("};\n", out);
    return id;
}

static void emit_registry(void)
{
    unsigned *ids[ZT_SCHEMA_DATA_SOURCE + 1] = {0};
    size_t n[ZT_SCHEMA_DATA_SOURCE + 1] = {0};
    for (int k = ZT_SCHEMA_PROVIDER; k <= ZT_SCHEMA_DATA_SOURCE; k++) {
        const zt_schema **list;
        n[k] = zt_schema_list((zt_schema_kind)k, &list);
        ids[k] = calloc(n[k] + 1, sizeof(unsigned));
        for (size_t i = 0; i < n[k]; i++)
            ids[k][i] = emit_schema(list[i]);
    }
    for (int k = ZT_SCHEMA_PROVIDER; k <= ZT_SCHEMA_DATA_SOURCE; k++) {
        fprintf(out, "static const zt_schema *kind%d[] = {", k);
        for (size_t i = 0; i < n[k]; i++)
            fprintf(out, "&s%u,", ids[k][i]);
        fputs("NULL};\n", out);
        free(ids[k]);
    }
    fputs("const zt_schema_prebuilt zt_prebuilt_schemas = {.by_kind = {NULL", out);
    for (int k = ZT_SCHEMA_PROVIDER; k <= ZT_SCHEMA_DATA_SOURCE; k++)
        fprintf(out, ", kind%d", k);
    fputs("}, .n = {0", out);
    for (int k = ZT_SCHEMA_PROVIDER; k <= ZT_SCHEMA_DATA_SOURCE; k++)
        fprintf(out, ", %zu", n[k]);
    fputs("}};\n\n", out);
}

static void emit_response(void)
{
    const void *data;
    size_t len;
    zt_rpc_schema_response(&data, &len);
    fputs("const unsigned char zt_prebuilt_schema_response[] = {", out);
    const unsigned char *b = data;
    for (size_t i = 0; i < len; i++)
        fprintf(out, "%s%u,", i % 20 ? "" : "\n", b[i]);
    fprintf(out, "\n};\nconst size_t zt_prebuilt_schema_response_len = %zu;\n", len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTPUT.c\n", argv[0]);
        return 2;
    }
    out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    fputs("/* Generated by tools/prebuilt_schemas.c from schemas/: the schemas as the\n"
          " * provider uses them, and its GetProviderSchema answer. */\n"
          "#include \"zt_schema.h\"\n\n#include <stddef.h>\n\n", out);
    emit_registry();
    emit_response();
    free(seen);
    if (fclose(out) != 0) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
