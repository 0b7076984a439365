/* The schemas and the GetProviderSchema answer made at build time
 * (tools/prebuilt_schemas.c) are what the provider makes from its schema
 * documents, and they are what it serves. */
#include "zt_rpc.h"
#include "zt_schema.h"

#include "zt_test.h"

#include <check.h>
#include <string.h>

extern const unsigned char zt_prebuilt_schema_response[];
extern const size_t zt_prebuilt_schema_response_len;
extern const zt_schema_prebuilt zt_prebuilt_schemas;

static void same_str(const char *what, const char *x, const char *y)
{
    ck_assert_msg((!x && !y) || (x && y && strcmp(x, y) == 0), "%s: \"%s\" != \"%s\"", what,
                  x ? x : "(null)", y ? y : "(null)");
}

static void same_block(const char *where, const zt_schema_block *x, const zt_schema_block *y);

static void same_attrs(const char *where, const zt_schema_attr *x, size_t nx,
                       const zt_schema_attr *y, size_t ny)
{
    ck_assert_msg(nx == ny, "%s: %zu attributes != %zu", where, nx, ny);
    for (size_t i = 0; i < nx; i++) {
        const zt_schema_attr *a = &x[i], *b = &y[i];
        same_str(where, a->name, b->name);
        same_str(a->name, a->description, b->description);
        ck_assert_msg((!a->type && !b->type) || (a->type && b->type &&
                                                  zt_cty_type_equal(a->type, b->type)),
                      "%s.%s: type", where, a->name);
        ck_assert_msg(a->nested_mode == b->nested_mode && a->required == b->required &&
                          a->optional == b->optional && a->computed == b->computed &&
                          a->sensitive == b->sensitive && a->deprecated == b->deprecated &&
                          a->write_only == b->write_only &&
                          a->requires_replace == b->requires_replace,
                      "%s.%s: flags", where, a->name);
        ck_assert_msg((!a->default_value && !b->default_value) ||
                          (a->default_value && b->default_value &&
                           zt_cty_type_equal(a->default_value->type, b->default_value->type) &&
                           a->default_value->is_null == b->default_value->is_null &&
                           (a->default_value->is_null ||
                            zt_cty_equal(a->default_value, b->default_value))),
                      "%s.%s: default", where, a->name);
        same_attrs(a->name, a->nested_attrs, a->n_nested_attrs, b->nested_attrs,
                   b->n_nested_attrs);
    }
}

static void same_block(const char *where, const zt_schema_block *x, const zt_schema_block *y)
{
    same_str(where, x->description, y->description);
    ck_assert_int_eq(x->deprecated, y->deprecated);
    same_attrs(where, x->attrs, x->n_attrs, y->attrs, y->n_attrs);
    ck_assert_msg(x->n_blocks == y->n_blocks, "%s: blocks", where);
    for (size_t i = 0; i < x->n_blocks; i++) {
        const zt_schema_nested_block *a = &x->blocks[i], *b = &y->blocks[i];
        same_str(where, a->type_name, b->type_name);
        ck_assert_msg(a->nesting == b->nesting && a->min_items == b->min_items &&
                          a->max_items == b->max_items,
                      "%s.%s: nesting", where, a->type_name);
        same_block(a->type_name, a->block, b->block);
    }
}

START_TEST(test_prebuilt_schemas_are_the_documents)
{
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_schema_prebuilt parsed;
    ck_assert_int_eq(zt_schema_parse_all(a, &parsed, &d), ZT_OK);
    size_t total = 0;
    for (int k = ZT_SCHEMA_PROVIDER; k <= ZT_SCHEMA_DATA_SOURCE; k++) {
        ck_assert_uint_eq(zt_prebuilt_schemas.n[k], parsed.n[k]);
        for (size_t i = 0; i < parsed.n[k]; i++, total++) {
            const zt_schema *x = zt_prebuilt_schemas.by_kind[k][i], *y = parsed.by_kind[k][i];
            same_str("name", x->name, y->name);
            ck_assert_int_eq(x->kind, y->kind);
            ck_assert_int_eq(x->version, y->version);
            ck_assert(zt_cty_type_equal(x->type, y->type));
            same_block(x->name, x->block, y->block);
        }
    }
    ck_assert_uint_ge(total, 5);
    /* and the registry serves the build's copy */
    ck_assert_ptr_eq(zt_schema_provider(), zt_prebuilt_schemas.by_kind[ZT_SCHEMA_PROVIDER][0]);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_prebuilt_answer_is_current)
{
    const void *built;
    size_t len;
    zt_rpc_schema_response(&built, &len); /* encoded here, from the registry */
    ck_assert_uint_gt(len, 1000);
    ck_assert_uint_eq(zt_prebuilt_schema_response_len, len);
    ck_assert(memcmp(zt_prebuilt_schema_response, built, len) == 0);
}
END_TEST

START_TEST(test_handler_serves_prebuilt)
{
    const zt_method *m = zt_rpc_methods;
    while (m->path && strcmp(m->path, "/tfplugin6.Provider/GetProviderSchema") != 0)
        m++;
    ck_assert_ptr_nonnull(m->path);
    zt_arena *a = zt_arena_new();
    zt_rpc_result res = {0};
    atomic_bool cancel = false;
    m->fn(NULL, a, "", 0, &res, &cancel);
    ck_assert_ptr_eq(res.data, zt_prebuilt_schema_response);
    ck_assert_uint_eq(res.len, zt_prebuilt_schema_response_len);
    zt_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prebuilt_schemas");
    TCase *tc = tcase_create("prebuilt");
    tcase_add_test(tc, test_prebuilt_schemas_are_the_documents);
    tcase_add_test(tc, test_prebuilt_answer_is_current);
    tcase_add_test(tc, test_handler_serves_prebuilt);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
