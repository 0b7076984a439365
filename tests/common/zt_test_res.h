/* zt_test_res.h - scaffolding shared by the unit tests of the composite
 * resources (test_hub.c, test_spoke.c, test_workspace.c), header-only.
 *
 * Before including it, define ZT_TEST_RES_DEF (the zt_composite_def
 * object) and ZT_TEST_RES_TYPE (its schema's type name); optionally
 * ZT_TEST_RES_AFTER_EXPAND(ev), run on every graph expand() builds. It
 * gives the test file the fixture (A, D, P, C, S with setup/teardown),
 * inputs from cty JSON, expand/keys/body_of/jstr/output/validate,
 * test_definition_passes_engine_checks, the
 * canned GETs of import tests, and the --dump-bodies mode whose request
 * log tests/unit/check_bodies.py validates against azure-specs. */
#ifndef ZT_TEST_RES_H
#define ZT_TEST_RES_H

#include "zt_arm.h"
#include "zt_comp_internal.h"
#include "zt_test.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const zt_composite_def ZT_TEST_RES_DEF;

#define SUB "00000000-0000-0000-0000-000000000001"

#ifndef ZT_TEST_RES_AFTER_EXPAND
#define ZT_TEST_RES_AFTER_EXPAND(ev) ((void)(ev))
#endif

static zt_arena *A;
static zt_diags D;
static zt_provider P;
static zt_call C;
static const zt_schema *S;

static void setup(void)
{
    A = zt_arena_new();
    zt_diags_init(&D, A);
    memset(&P, 0, sizeof(P));
    P.config.subscription_id = SUB;
    /* what ConfigureProvider leaves when required_tags is not set */
    static const char *required_tags[] = {"environment", "project", "owner", "cost-centre"};
    P.config.required_tags = required_tags;
    P.config.n_required_tags = ZT_ARRAY_LEN(required_tags);
    atomic_init(&P.configured, true);
    C = (zt_call){.arena = A, .diags = &D, .provider = &P};
    S = zt_schema_find(ZT_SCHEMA_RESOURCE, ZT_TEST_RES_TYPE);
    ck_assert_ptr_nonnull(S);
}

static void teardown(void)
{
    zt_arena_free(A);
}

/* The schema's object from cty JSON attributes (absent ones are null). */
static inline const zt_cty_value *inputs(const char *json_attrs)
{
    const char *doc = zt_arena_printf(A, "{%s}", json_attrs);
    const zt_cty_value *v = NULL;
    ck_assert_int_eq(zt_cty_json_decode(A, doc, strlen(doc), S->type, false, &v, &D), ZT_OK);
    return v;
}

static inline zt_comp_eval *expand_in(const zt_cty_value *in, zt_comp_mode mode)
{
    zt_comp_eval *ev = zt_arena_alloc(A, sizeof(*ev));
    zt_comp_eval_init(ev, &C, &ZT_TEST_RES_DEF, S, in, mode);
    ck_assert_int_eq(zt_comp_eval_subscription(ev), ZT_OK);
    ck_assert_int_eq(zt_comp_graph_build(ev), ZT_OK);
    return ev;
}

/* The graph of an apply with these inputs (its ID known). */
static inline zt_comp_eval *expand(const char *json_attrs)
{
    zt_comp_eval *ev = expand_in(inputs(json_attrs), ZT_COMP_APPLY);
    ck_assert(!ev->id_unknown);
    ZT_TEST_RES_AFTER_EXPAND(ev);
    return ev;
}

/* What ARM returned for a node (its private record's outputs), for the
 * bodies and outputs that read it. */
static inline void fake(zt_comp_eval *ev, const char *key, const char *json)
{
    zt_comp_rec *r = zt_comp_priv_put(A, &ev->priv, key);
    r->exists = true;
    r->outputs = json_loads(json, 0, NULL);
    ck_assert_ptr_nonnull(r->outputs);
    zt_arena_on_free(A, (void (*)(void *))json_decref, r->outputs);
}

/* "key1 key2 ..." of the expanded graph, in table order. */
static inline const char *keys(const zt_comp_eval *ev)
{
    zt_buf b;
    zt_buf_init(&b, A);
    for (size_t i = 0; i < ev->graph.n; i++)
        zt_buf_printf(&b, "%s%s", i ? " " : "", ev->graph.inst[i].key);
    return zt_buf_cstr(&b);
}

static inline json_t *body_or_null(zt_comp_eval *ev, const char *key)
{
    ssize_t i = zt_comp_graph_find(&ev->graph, key);
    ck_assert_msg(i >= 0, "no node %s", key);
    return zt_comp_eval_body(ev, &ev->graph.inst[i]);
}

static inline json_t *body_of(zt_comp_eval *ev, const char *key)
{
    json_t *b = body_or_null(ev, key);
    ck_assert_msg(b != NULL, "%s has no body", key);
    return b;
}

static inline const char *jstr(json_t *doc, const char *ptr)
{
    json_t *v = zt_comp_json_ptr(doc, ptr);
    ck_assert_msg(json_is_string(v), "%s is not a string", ptr);
    return json_string_value(v);
}

static inline const zt_cty_value *output(zt_comp_eval *ev, const char *attr)
{
    for (size_t i = 0; i < ZT_TEST_RES_DEF.n_outputs; i++)
        if (strcmp(ZT_TEST_RES_DEF.outputs[i].attr, attr) == 0)
            return ZT_TEST_RES_DEF.outputs[i].value(ev);
    ck_abort_msg("no output %s", attr);
    return NULL;
}

static inline zt_rc validate(const char *json_attrs)
{
    return ZT_TEST_RES_DEF.validate(&C, S, inputs(json_attrs));
}

/* The definition passes the engine's checks, is registered under its type
 * name, and every output is a computed attribute of the schema. */
START_TEST(test_definition_passes_engine_checks)
{
    ck_assert_int_eq(zt_comp_def_check(&ZT_TEST_RES_DEF, &D), ZT_OK);
    ck_assert_ptr_eq(zt_composite_find(ZT_TEST_RES_TYPE), &ZT_TEST_RES_DEF);
    for (size_t i = 0; i < ZT_TEST_RES_DEF.n_outputs; i++)
        ck_assert_msg(zt_cty_type_attr_index(S->type, ZT_TEST_RES_DEF.outputs[i].attr) >= 0,
                      "%s", ZT_TEST_RES_DEF.outputs[i].attr);
}
END_TEST

/* The schema's defaults and the definition's own handling of null inputs
 * build the same resources: json_attrs expanded as they are (defaults left
 * null) and with the schema's defaults filled in give the same instances
 * (sets may order them otherwise), IDs and bodies. */
static inline void expect_defaults_match_code(const char *json_attrs)
{
    const zt_cty_value *raw = inputs(json_attrs);
    zt_comp_eval *x = expand_in(raw, ZT_COMP_APPLY);
    zt_comp_eval *y = expand_in(zt_schema_defaults(A, S->block, NULL, raw), ZT_COMP_APPLY);
    ck_assert_msg(!zt_cty_equal(raw, y->inputs), "no default applies to these inputs");
    ck_assert_uint_eq(x->graph.n, y->graph.n);
    for (size_t i = 0; i < x->graph.n; i++) {
        zt_comp_inst *a = &x->graph.inst[i];
        ssize_t j = zt_comp_graph_find(&y->graph, a->key);
        ck_assert_msg(j >= 0, "%s only without the defaults", a->key);
        zt_comp_inst *b = &y->graph.inst[j];
        const char *ia = zt_comp_eval_id(x, a), *ib = zt_comp_eval_id(y, b);
        ck_assert_msg(ia && ib && strcmp(ia, ib) == 0, "%s: %s vs %s", a->key, ia, ib);
        json_t *ba = zt_comp_eval_body(x, a), *bb = zt_comp_eval_body(y, b);
        ck_assert_msg((!ba && !bb) || (ba && bb && json_equal(ba, bb)), "%s: bodies differ",
                      a->key);
    }
}

/* ---- import: ARM GETs answered from a table ----------------------------- */

typedef struct canned {
    const char *id;
    const char *body;
} canned;

/* The getter of zt_composite_def.import; arg: the canned table, ended by
 * {NULL}. Bodies are borrowed, as the engine's. */
static inline json_t *canned_get(void *arg, const char *arm_id)
{
    for (const canned *c = arg; c && c->id; c++)
        if (strcasecmp(c->id, arm_id) == 0) {
            json_t *b = json_loads(c->body, 0, NULL);
            ck_assert_ptr_nonnull(b);
            zt_arena_on_free(A, (void (*)(void *))json_decref, b);
            return b;
        }
    return NULL;
}

static inline const char *attr_str(const zt_cty_value *obj, const char *attr)
{
    const zt_cty_value *v = zt_cty_get_attr(obj, attr);
    return v && !v->is_null ? v->u.str.ptr : NULL;
}

/* ---- body dump for the validator ---------------------------------------- */

static const char *zt_test_res_dump_path;

/* Every node's PUT body of expand(json_attrs) as emulator request log lines. */
static inline void zt_test_res_dump(FILE *f, const char *json_attrs, int *seq)
{
    zt_comp_eval *ev = expand(json_attrs);
    for (size_t i = 0; i < ev->graph.n; i++) {
        zt_comp_inst *in = &ev->graph.inst[i];
        json_t *body = zt_comp_eval_body(ev, in);
        ck_assert_msg(body != NULL, "%s: no body", in->key);
        json_t *e = json_pack("{s:i,s:s,s:s,s:s,s:s,s:O,s:s}", "seq", ++*seq, "kind", "arm",
                              "method", "PUT", "path", in->id, "api_version",
                              zt_arm_api_version(in->def->arm_type), "body", body, "node",
                              in->key);
        ck_assert_ptr_nonnull(e);
        char *line = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(f, "%s\n", line);
        free(line);
        json_decref(e);
    }
}

/* The dump of each input set, to the --dump-bodies file. Check's asserts
 * work only inside a test, so call it from one. */
static inline void zt_test_res_dump_bodies(const char *const *sets, size_t n)
{
    FILE *f = fopen(zt_test_res_dump_path, "w");
    int seq = 0;
    ck_assert_msg(f != NULL, "cannot write %s", zt_test_res_dump_path);
    for (size_t i = 0; i < n; i++)
        zt_test_res_dump(f, sets[i], &seq);
    fclose(f);
    fprintf(stderr, "wrote %d request bodies to %s\n", seq, zt_test_res_dump_path);
}

/* main(): `--dump-bodies FILE` runs only dump_test, else every test. */
static inline int zt_test_res_main(int argc, char **argv, const char *name,
                                   const TTest *dump_test, const TTest *const *tests, size_t n)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    if (argc == 3 && strcmp(argv[1], "--dump-bodies") == 0) {
        zt_test_res_dump_path = argv[2];
        tcase_add_test(tc, dump_test);
    } else {
        for (size_t i = 0; i < n; i++)
            tcase_add_test(tc, tests[i]);
    }
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}

#endif
