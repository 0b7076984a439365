/* Unit tests for zt_schema: every embedded document parses and passes
 * Terraform's rules, the registry agrees with the data source and function
 * tables, block value types follow plugin-protocol.md section 3.2, and bad
 * documents are rejected with a message naming the problem. */
#include "zt_provider.h"
#include "zt_schema.h"
#include "zt_schema_embedded.h"
#include "zt_test_values.h"

#include "zt_test.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static zt_arena *A;
static zt_diags D;

static void setup(void)
{
    A = zt_arena_new();
    zt_diags_init(&D, A);
}

static void teardown(void) { zt_arena_free(A); }

static zt_schema *parse_ok(const char *json)
{
    zt_schema *s = NULL;
    zt_rc rc = zt_schema_parse(A, json, strlen(json), &s, &D);
    ck_assert_msg(rc == ZT_OK, "parse failed: %s", D.head ? D.head->detail : zt_rc_str(rc));
    ck_assert_ptr_nonnull(s);
    return s;
}

/* The document must be rejected and some error detail must contain
 * `reason`. */
static void parse_fails(const char *json, const char *reason)
{
    zt_diags d;
    zt_diags_init(&d, A);
    zt_schema *s = (zt_schema *)1;
    zt_rc rc = zt_schema_parse(A, json, strlen(json), &s, &d);
    ck_assert_msg(rc != ZT_OK, "accepted: %s", json);
    ck_assert_ptr_null(s);
    ck_assert_uint_gt(d.errors, 0);
    for (const zt_diag *g = d.head; g; g = g->next)
        if (strstr(g->detail, reason))
            return;
    ck_abort_msg("no error mentions \"%s\"; first: %s", reason, d.head->detail);
}

static void expect_attr_type(const zt_cty_type *obj, const char *name, const char *type_json)
{
    ssize_t i = zt_cty_type_attr_index(obj, name);
    ck_assert_msg(i >= 0, "no attribute %s", name);
    const zt_cty_type *want = tv_type(A, type_json);
    ck_assert_msg(zt_cty_type_equal(obj->types[i], want), "%s: %s, want %s", name,
                  zt_cty_type_to_json(A, obj->types[i]), type_json);
}

/* ---- the embedded documents -------------------------------------------------- */

START_TEST(test_every_embedded_schema_parses)
{
    ck_assert_uint_ge(zt_schema_docs_count, 2);
    for (size_t i = 0; i < zt_schema_docs_count; i++) {
        const zt_schema_doc *doc = &zt_schema_docs[i];
        zt_schema *s = NULL;
        zt_rc rc = zt_schema_parse(A, doc->json, doc->len, &s, &D);
        ck_assert_msg(rc == ZT_OK, "schemas/%s: %s", doc->path,
                      D.head ? D.head->detail : zt_rc_str(rc));
        ck_assert_uint_eq(D.count, 0);
        ck_assert_uint_eq(strlen(doc->json), doc->len);
        /* file layout: provider.json, data-sources/<name>.json, resources/<name>.json */
        const char *want = s->kind == ZT_SCHEMA_PROVIDER ? "provider.json"
                           : s->kind == ZT_SCHEMA_DATA_SOURCE
                               ? zt_arena_printf(A, "data-sources/%s.json", s->name)
                               : zt_arena_printf(A, "resources/%s.json", s->name);
        ck_assert_str_eq(doc->path, want);
    }
}
END_TEST

START_TEST(test_registry)
{
    const zt_schema *p = zt_schema_provider();
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->name, "provider");
    ck_assert_ptr_eq(p, zt_schema_provider()); /* parsed once */
    ck_assert_ptr_eq(zt_schema_find(ZT_SCHEMA_PROVIDER, "provider"), p);
    ck_assert_ptr_null(zt_schema_find(ZT_SCHEMA_DATA_SOURCE, "zerotrust_nope"));
    ck_assert_ptr_null(zt_schema_find(ZT_SCHEMA_DATA_SOURCE, NULL));
    ck_assert_ptr_null(zt_schema_find((zt_schema_kind)42, "provider"));

    const zt_schema **list;
    size_t n = zt_schema_list(ZT_SCHEMA_DATA_SOURCE, &list);
    ck_assert_uint_ge(n, 1);
    for (size_t i = 1; i < n; i++)
        ck_assert_int_lt(strcmp(list[i - 1]->name, list[i]->name), 0); /* sorted */
    size_t total = 0;
    for (int k = ZT_SCHEMA_PROVIDER; k <= ZT_SCHEMA_DATA_SOURCE; k++)
        total += zt_schema_list((zt_schema_kind)k, &list);
    ck_assert_uint_eq(total, zt_schema_docs_count);
}
END_TEST

/* Every data source has a schema and every data source schema an
 * implementation; function definitions are well-formed. */
START_TEST(test_registry_matches_definitions)
{
    size_t n_defs = 0;
    for (size_t i = 0; zt_datasources[i]; i++, n_defs++) {
        const zt_datasource_def *def = zt_datasources[i];
        ck_assert_msg(zt_schema_find(ZT_SCHEMA_DATA_SOURCE, def->type_name), "%s has no schema",
                      def->type_name);
        ck_assert_ptr_eq(zt_datasource_find(def->type_name), def);
        ck_assert_ptr_nonnull(def->read);
    }
    const zt_schema **list;
    ck_assert_uint_eq(zt_schema_list(ZT_SCHEMA_DATA_SOURCE, &list), n_defs);
    for (size_t i = 0; zt_functions[i]; i++) {
        const zt_function_def *f = zt_functions[i];
        ck_assert_ptr_eq(zt_function_find(f->name), f);
        ck_assert(f->call && f->summary && f->description && f->return_type_json);
        for (size_t k = 0; k < f->n_params; k++) {
            ck_assert_ptr_nonnull(tv_type(A, f->params[k].type_json));
            for (const char *c = f->params[k].name; *c; c++)
                ck_assert((*c >= 'a' && *c <= 'z') || *c == '_');
        }
    }
}
END_TEST

static void *get_provider(void *arg)
{
    ZT_UNUSED(arg);
    return (void *)zt_schema_provider();
}

START_TEST(test_registry_thread_safe)
{
    pthread_t t[8];
    void *r[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, get_provider, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], &r[i]);
    for (int i = 1; i < 8; i++)
        ck_assert_ptr_eq(r[i], r[0]);
    ck_assert_ptr_nonnull(r[0]);
}
END_TEST

START_TEST(test_provider_block_type)
{
    const zt_schema *p = zt_schema_provider();
    static const char *const strings[] = {
        "subscription_id",   "tenant_id",          "client_id",
        "client_id_file_path", "environment",      "oidc_token",
        "oidc_token_file_path", "oidc_request_url", "oidc_request_token",
        "msi_endpoint",      "msi_object_id",      "msi_res_id",
        "client_certificate_path", "client_certificate", "client_certificate_password",
        "client_secret",     "resource_manager_endpoint", "authority_host",
        "ca_bundle_path"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(strings); i++)
        expect_attr_type(p->type, strings[i], "\"string\"");
    expect_attr_type(p->type, "use_oidc", "\"bool\"");
    expect_attr_type(p->type, "use_msi", "\"bool\"");
    expect_attr_type(p->type, "use_cli", "\"bool\"");
    expect_attr_type(p->type, "skip_credentials_validation", "\"bool\"");
    expect_attr_type(p->type, "allowed_locations", "[\"list\",\"string\"]");
    expect_attr_type(p->type, "required_tags", "[\"list\",\"string\"]");
    expect_attr_type(p->type, "recover_soft_deleted_key_vaults", "\"bool\"");
    expect_attr_type(p->type, "policy_plan_checks_enabled", "\"bool\"");
    ck_assert_uint_eq(p->type->n, ZT_ARRAY_LEN(strings) + 8);
    /* all optional; secrets sensitive */
    static const char *const sensitive[] = {"oidc_token", "oidc_request_token", "client_certificate",
                                            "client_certificate_password", "client_secret"};
    for (size_t i = 0; i < p->block->n_attrs; i++) {
        const zt_schema_attr *at = &p->block->attrs[i];
        ck_assert_msg(at->optional && !at->required && !at->computed, "%s", at->name);
        bool want = false;
        for (size_t k = 0; k < ZT_ARRAY_LEN(sensitive); k++)
            want |= strcmp(at->name, sensitive[k]) == 0;
        ck_assert_msg(at->sensitive == want, "%s sensitive", at->name);
    }
}
END_TEST

START_TEST(test_address_plan_block_type)
{
    const zt_schema *s = zt_schema_find(ZT_SCHEMA_DATA_SOURCE, "zerotrust_address_plan");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->kind, ZT_SCHEMA_DATA_SOURCE);
    const zt_cty_type *want = tv_type(
        A, "[\"object\",{\"address_space\":\"string\",\"layout\":\"string\","
           "\"subnets\":[\"list\",[\"object\",{\"name\":\"string\",\"prefix_length\":\"number\","
           "\"newbits\":\"number\",\"cidr\":\"string\"}]],"
           "\"allocations\":[\"list\",[\"object\",{\"name\":\"string\",\"cidr\":\"string\","
           "\"prefix_length\":\"number\",\"first_usable\":\"string\",\"last_usable\":\"string\","
           "\"address_count\":\"number\",\"usable_hosts\":\"number\"}]],"
           "\"cidrs\":[\"map\",\"string\"],\"free_cidrs\":[\"list\",\"string\"]}]");
    ck_assert_msg(zt_cty_type_equal(s->type, want), "%s", zt_cty_type_to_json(A, s->type));
    ck_assert(zt_cty_type_equal(zt_schema_block_type(A, s->block), s->type));
}
END_TEST

/* ---- block types, plugin-protocol.md 3.2 --------------------------------------- */

#define DOC_HEAD "{\"kind\":\"resource\",\"name\":\"zerotrust_t\",\"version\":1,\"block\":{\"description\":\"d\","

START_TEST(test_nested_block_types)
{
    const char *json = DOC_HEAD
        "\"attributes\":[{\"name\":\"id\",\"type\":\"string\",\"computed\":true,\"description\":\"d\"}],"
        "\"blocks\":["
        "{\"name\":\"one\",\"nesting\":\"single\",\"description\":\"d\",\"attributes\":[{\"name\":\"a\",\"type\":\"string\",\"optional\":true,\"description\":\"d\"}]},"
        "{\"name\":\"grp\",\"nesting\":\"group\",\"description\":\"d\",\"attributes\":[{\"name\":\"a\",\"type\":\"bool\",\"optional\":true,\"description\":\"d\"}]},"
        "{\"name\":\"lst\",\"nesting\":\"list\",\"max_items\":3,\"description\":\"d\",\"attributes\":[{\"name\":\"a\",\"type\":\"number\",\"required\":true,\"description\":\"d\"}]},"
        "{\"name\":\"st\",\"nesting\":\"set\",\"description\":\"d\",\"attributes\":[{\"name\":\"a\",\"type\":\"string\",\"required\":true,\"description\":\"d\"}]},"
        "{\"name\":\"mp\",\"nesting\":\"map\",\"description\":\"d\",\"attributes\":[{\"name\":\"a\",\"type\":\"string\",\"required\":true,\"description\":\"d\"}]},"
        "{\"name\":\"dynlist\",\"nesting\":\"list\",\"description\":\"d\",\"attributes\":[{\"name\":\"v\",\"type\":\"dynamic\",\"optional\":true,\"description\":\"d\"}]},"
        "{\"name\":\"dynmap\",\"nesting\":\"map\",\"description\":\"d\",\"blocks\":[{\"name\":\"inner\",\"nesting\":\"single\",\"description\":\"d\",\"attributes\":[{\"name\":\"v\",\"type\":[\"list\",\"dynamic\"],\"optional\":true,\"description\":\"d\"}]}]},"
        "{\"name\":\"dynone\",\"nesting\":\"single\",\"description\":\"d\",\"attributes\":[{\"name\":\"v\",\"type\":\"dynamic\",\"optional\":true,\"description\":\"d\"}]}"
        "]}}";
    zt_schema *s = parse_ok(json);
    ck_assert_int_eq(s->version, 1);
    expect_attr_type(s->type, "id", "\"string\"");
    expect_attr_type(s->type, "one", "[\"object\",{\"a\":\"string\"}]");
    expect_attr_type(s->type, "grp", "[\"object\",{\"a\":\"bool\"}]");
    expect_attr_type(s->type, "lst", "[\"list\",[\"object\",{\"a\":\"number\"}]]");
    expect_attr_type(s->type, "st", "[\"set\",[\"object\",{\"a\":\"string\"}]]");
    expect_attr_type(s->type, "mp", "[\"map\",[\"object\",{\"a\":\"string\"}]]");
    /* LIST/MAP blocks containing dynamic (at any depth) become dynamic */
    expect_attr_type(s->type, "dynlist", "\"dynamic\"");
    expect_attr_type(s->type, "dynmap", "\"dynamic\"");
    /* a SINGLE block keeps its object type */
    expect_attr_type(s->type, "dynone", "[\"object\",{\"v\":\"dynamic\"}]");
    ck_assert_int_eq(s->block->blocks[2].max_items, 3);
    ck_assert_int_eq(s->block->blocks[1].nesting, ZT_NEST_GROUP);
}
END_TEST

START_TEST(test_nested_attribute_types)
{
    const char *json = DOC_HEAD
        "\"attributes\":["
        "{\"name\":\"single\",\"optional\":true,\"description\":\"d\",\"nested_type\":{\"nesting\":\"single\",\"attributes\":[{\"name\":\"x\",\"type\":\"string\",\"optional\":true,\"description\":\"d\"}]}},"
        "{\"name\":\"lst\",\"optional\":true,\"description\":\"d\",\"nested_type\":{\"nesting\":\"list\",\"attributes\":[{\"name\":\"x\",\"type\":\"number\",\"required\":true,\"description\":\"d\"},{\"name\":\"y\",\"type\":\"string\",\"computed\":true,\"description\":\"d\"}]}},"
        "{\"name\":\"st\",\"optional\":true,\"description\":\"d\",\"nested_type\":{\"nesting\":\"set\",\"attributes\":[{\"name\":\"x\",\"type\":\"string\",\"required\":true,\"description\":\"d\"}]}},"
        "{\"name\":\"mp\",\"optional\":true,\"description\":\"d\",\"nested_type\":{\"nesting\":\"map\",\"attributes\":[{\"name\":\"x\",\"type\":\"dynamic\",\"optional\":true,\"description\":\"d\"}]}},"
        "{\"name\":\"secret\",\"type\":\"string\",\"optional\":true,\"sensitive\":true,\"write_only\":true,\"requires_replace\":true,\"description\":\"d\"}"
        "]}}";
    zt_schema *s = parse_ok(json);
    expect_attr_type(s->type, "single", "[\"object\",{\"x\":\"string\"}]");
    expect_attr_type(s->type, "lst", "[\"list\",[\"object\",{\"x\":\"number\",\"y\":\"string\"}]]");
    expect_attr_type(s->type, "st", "[\"set\",[\"object\",{\"x\":\"string\"}]]");
    expect_attr_type(s->type, "mp", "\"dynamic\"");
    const zt_schema_attr *lst = &s->block->attrs[1];
    ck_assert_int_eq(lst->nested_mode, ZT_NEST_LIST);
    ck_assert_uint_eq(lst->n_nested_attrs, 2);
    ck_assert_ptr_null(lst->type);
    const zt_schema_attr *secret = &s->block->attrs[4];
    ck_assert(secret->sensitive && secret->write_only && secret->requires_replace);
    ck_assert(zt_cty_type_equal(zt_schema_attr_type(A, lst), s->type->types[zt_cty_type_attr_index(s->type, "lst")]));
}
END_TEST

/* ---- invalid documents ------------------------------------------------------------ */

#define ATTR(body) DOC_HEAD "\"attributes\":[" body "]}}"
#define BLOCK(body) DOC_HEAD "\"blocks\":[" body "]}}"
#define A_OK "\"description\":\"d\""

START_TEST(test_invalid_documents)
{
    /* document level */
    parse_fails("{\"kind\":\"resource\"", "line 1");
    parse_fails("[]", "must be a JSON object");
    parse_fails("{\"kind\":\"thing\",\"name\":\"zerotrust_t\",\"block\":{\"description\":\"d\"}}",
                "\"kind\" must be");
    parse_fails("{\"kind\":\"resource\",\"name\":\"zerotrust_t\",\"version\":-1,\"block\":{\"description\":\"d\"}}",
                "cannot be negative");
    parse_fails("{\"kind\":\"resource\",\"name\":\"azurerm_t\",\"block\":{\"description\":\"d\"}}",
                "zerotrust_");
    parse_fails("{\"kind\":\"provider\",\"name\":\"zerotrust\",\"block\":{\"description\":\"d\"}}",
                "named \"provider\"");
    parse_fails("{\"kind\":\"resource\",\"name\":\"zerotrust_t\",\"block\":{}}", "\"description\" is required");
    parse_fails("{\"kind\":\"resource\",\"name\":\"zerotrust_t\",\"block\":{\"description\":\"\"}}",
                "must not be empty");
    parse_fails("{\"kind\":\"resource\",\"name\":\"zerotrust_t\",\"name\":\"zerotrust_u\",\"block\":{\"description\":\"d\"}}",
                "duplicate");
    parse_fails("{\"kind\":\"resource\",\"name\":\"zerotrust_t\",\"blok\":{}}", "unknown key \"blok\"");

    /* attributes */
    parse_fails(ATTR("{\"name\":\"Bad-Name\",\"type\":\"string\",\"optional\":true," A_OK "}"),
                "^[a-z0-9_]+$");
    parse_fails(ATTR("{\"name\":\"a\",\"optional\":true," A_OK "}"), "exactly one of \"type\"");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\",\"optional\":true," A_OK ","
                     "\"nested_type\":{\"nesting\":\"single\",\"attributes\":[]}}"),
                "exactly one of \"type\"");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\"," A_OK "}"), "one of required, optional or computed");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\",\"required\":true,\"optional\":true," A_OK "}"),
                "required and optional");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\",\"required\":true,\"computed\":true," A_OK "}"),
                "required and computed");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\",\"optional\":true,\"requird\":true," A_OK "}"),
                "unknown key \"requird\"");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\",\"optional\":\"yes\"," A_OK "}"), "true or false");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\",\"optional\":true}"), "\"description\" is required");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":[\"list\"],\"optional\":true," A_OK "}"),
                "not a type constraint");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":[\"set\",\"dynamic\"],\"optional\":true," A_OK "}"),
                "set type cannot contain dynamic");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\",\"optional\":true," A_OK "},"
                     "{\"name\":\"a\",\"type\":\"string\",\"optional\":true," A_OK "}"),
                "defined twice");
    parse_fails(ATTR("{\"name\":\"count\",\"type\":\"number\",\"optional\":true," A_OK "}"),
                "meta-argument");
    parse_fails(ATTR("{\"name\":\"depends_on\",\"type\":\"number\",\"optional\":true," A_OK "}"),
                "meta-argument");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\",\"computed\":true,\"write_only\":true," A_OK "}"),
                "write_only and computed");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\",\"computed\":true,\"requires_replace\":true," A_OK "}"),
                "computed-only");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"string\",\"optional\":true,\"default\":\"x\"," A_OK "}"),
                "a default needs optional and computed");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"bool\",\"optional\":true,\"computed\":true,"
                     "\"default\":\"yes\"," A_OK "}"),
                "not a value of the attribute's type");
    parse_fails(ATTR("{\"name\":\"a\",\"type\":\"bool\",\"optional\":true,\"computed\":true,"
                     "\"default\":null," A_OK "}"),
                "not null");
    parse_fails(ATTR("{\"name\":\"n\",\"optional\":true," A_OK ",\"nested_type\":{\"nesting\":\"group\","
                     "\"attributes\":[{\"name\":\"x\",\"type\":\"string\",\"optional\":true," A_OK "}]}}"),
                "\"nesting\" must be one of");
    parse_fails(ATTR("{\"name\":\"n\",\"optional\":true," A_OK ",\"nested_type\":{\"nesting\":\"set\","
                     "\"attributes\":[{\"name\":\"x\",\"type\":\"dynamic\",\"optional\":true," A_OK "}]}}"),
                "inside a set cannot have dynamic");
    parse_fails(ATTR("{\"name\":\"n\",\"optional\":true," A_OK ",\"nested_type\":{\"nesting\":\"list\","
                     "\"attributes\":[{\"name\":\"X\",\"type\":\"string\",\"optional\":true," A_OK "}]}}"),
                "n.X: attribute names must match");
    parse_fails(ATTR("{\"name\":\"n\",\"optional\":true," A_OK ",\"nested_type\":{\"nesting\":\"list\","
                     "\"attributes\":[]}}"),
                "at least one attribute");

    /* nested blocks */
    parse_fails(BLOCK("{\"name\":\"b\",\"nesting\":\"single\",\"min_items\":1,\"max_items\":2," A_OK "}"),
                "min_items == max_items");
    parse_fails(BLOCK("{\"name\":\"b\",\"nesting\":\"list\",\"min_items\":3,\"max_items\":2," A_OK "}"),
                "greater than max_items");
    parse_fails(BLOCK("{\"name\":\"b\",\"nesting\":\"list\",\"min_items\":-1," A_OK "}"), "negative");
    parse_fails(BLOCK("{\"name\":\"b\",\"nesting\":\"group\",\"max_items\":1," A_OK "}"),
                "group blocks cannot set");
    parse_fails(BLOCK("{\"name\":\"b\",\"nesting\":\"map\",\"min_items\":1," A_OK "}"),
                "map blocks cannot set");
    parse_fails(BLOCK("{\"name\":\"b\",\"nesting\":\"nested\"," A_OK "}"), "\"nesting\" must be one of");
    parse_fails(BLOCK("{\"name\":\"b\",\"nesting\":\"set\"," A_OK ",\"attributes\":[{\"name\":\"v\","
                      "\"type\":\"dynamic\",\"optional\":true," A_OK "}]}"),
                "set blocks cannot contain dynamic");
    parse_fails(BLOCK("{\"name\":\"b\",\"nesting\":\"set\"," A_OK ",\"attributes\":[{\"name\":\"v\","
                      "\"type\":\"string\",\"optional\":true,\"write_only\":true," A_OK "}]}"),
                "set blocks cannot contain write-only");
    parse_fails(BLOCK("{\"name\":\"lifecycle\",\"nesting\":\"single\"," A_OK "}"), "meta-argument");
    parse_fails(DOC_HEAD "\"attributes\":[{\"name\":\"x\",\"type\":\"string\",\"optional\":true," A_OK "}],"
                         "\"blocks\":[{\"name\":\"x\",\"nesting\":\"list\"," A_OK "}]}}",
                "both an attribute and a block");

    /* kind-specific rules */
    parse_fails("{\"kind\":\"data_source\",\"name\":\"zerotrust_d\",\"block\":{\"description\":\"d\","
                "\"attributes\":[{\"name\":\"a\",\"type\":\"string\",\"optional\":true,\"write_only\":true,"
                A_OK "}]}}",
                "write_only is only allowed in resource");
    parse_fails("{\"kind\":\"data_source\",\"name\":\"zerotrust_d\",\"block\":{\"description\":\"d\","
                "\"attributes\":[{\"name\":\"a\",\"type\":\"string\",\"optional\":true,\"requires_replace\":true,"
                A_OK "}]}}",
                "requires_replace is only meaningful");
    parse_fails("{\"kind\":\"provider\",\"name\":\"provider\",\"block\":{\"description\":\"d\","
                "\"attributes\":[{\"name\":\"alias\",\"type\":\"string\",\"optional\":true," A_OK "}]}}",
                "meta-argument");
    parse_fails("{\"kind\":\"provider\",\"name\":\"provider\",\"version\":2,\"block\":{\"description\":\"d\"}}",
                "only resource schemas have a version");
}
END_TEST

START_TEST(test_comments_and_minimal_documents)
{
    zt_schema *s = parse_ok("{\"$comment\":\"x\",\"kind\":\"data_source\",\"name\":\"zerotrust_x\","
                            "\"block\":{\"description\":\"Nothing.\",\"$comment\":\"y\"}}");
    ck_assert_uint_eq(s->block->n_attrs, 0);
    ck_assert_uint_eq(s->type->n, 0);
    ck_assert_int_eq(s->type->kind, ZT_CTY_OBJECT);
    ck_assert_str_eq(s->block->description, "Nothing.");
}
END_TEST

/* ---- defaults ------------------------------------------------------------------ */

static const zt_cty_value *obj_of(const zt_schema *s, const char *json)
{
    const zt_cty_value *v = NULL;
    ck_assert_int_eq(zt_cty_json_decode(A, json, strlen(json), s->type, false, &v, &D), ZT_OK);
    return v;
}

static const char *str_at(const zt_cty_value *obj, const char *attr)
{
    const zt_cty_value *v = zt_cty_get_attr(obj, attr);
    ck_assert_msg(v && !v->is_null && zt_cty_is_known(v), "%s is not a known string", attr);
    return v->u.str.ptr;
}

START_TEST(test_defaults_fill_what_config_leaves_out)
{
    const zt_schema *s = parse_ok(
        "{\"kind\":\"resource\",\"name\":\"zerotrust_d\",\"block\":{\"description\":\"d\","
        "\"attributes\":["
        "{\"name\":\"name\",\"type\":\"string\",\"required\":true,\"description\":\"d\"},"
        "{\"name\":\"tier\",\"type\":\"string\",\"optional\":true,\"computed\":true,"
        "\"default\":\"Premium\",\"description\":\"d\"},"
        "{\"name\":\"group\",\"type\":\"string\",\"optional\":true,\"computed\":true,"
        "\"default\":\"rg-${name}-x\",\"description\":\"d\"},"
        "{\"name\":\"gw\",\"optional\":true,\"description\":\"d\",\"nested_type\":{\"nesting\":"
        "\"single\",\"attributes\":[{\"name\":\"sku\",\"type\":\"string\",\"optional\":true,"
        "\"computed\":true,\"default\":\"S1\",\"description\":\"d\"}]}},"
        "{\"name\":\"seen\",\"type\":\"string\",\"optional\":true,\"computed\":true,"
        "\"description\":\"d\"}]}}");
    /* plan: null in the configuration -> the default, whatever the prior held */
    const zt_cty_value *cfg = obj_of(s, "{\"name\":\"a\",\"gw\":{}}");
    const zt_cty_value *proposed = obj_of(s, "{\"name\":\"a\",\"tier\":\"Standard\",\"gw\":{}}");
    const zt_cty_value *v = zt_schema_defaults(A, s->block, cfg, proposed);
    ck_assert_str_eq(str_at(v, "tier"), "Premium");
    ck_assert_str_eq(str_at(v, "group"), "rg-a-x");
    ck_assert_str_eq(str_at(zt_cty_get_attr(v, "gw"), "sku"), "S1");
    /* set in the configuration: kept; an absent nested object stays null */
    cfg = obj_of(s, "{\"name\":\"a\",\"tier\":\"Standard\"}");
    v = zt_schema_defaults(A, s->block, cfg, cfg);
    ck_assert_str_eq(str_at(v, "tier"), "Standard");
    ck_assert(zt_cty_get_attr(v, "gw")->is_null);
    /* no configuration (read, import): where the value itself is null */
    v = zt_schema_defaults(A, s->block, NULL, obj_of(s, "{\"name\":\"b\",\"tier\":\"Standard\"}"));
    ck_assert_str_eq(str_at(v, "tier"), "Standard");
    ck_assert_str_eq(str_at(v, "group"), "rg-b-x");
    /* no default, left out at create (Terraform proposes unknown): null */
    ssize_t si = zt_cty_type_attr_index(s->type, "seen");
    const zt_cty_value **pv = zt_arena_calloc(A, s->type->n, sizeof(*pv));
    memcpy(pv, cfg->u.coll.elems, s->type->n * sizeof(*pv));
    pv[si] = zt_cty_unknown(A, &zt_cty_string_type);
    v = zt_schema_defaults(A, s->block, cfg, zt_cty_object(A, s->type, pv));
    ck_assert(zt_cty_get_attr(v, "seen")->is_null);
    /* a template over an unknown sibling is unknown */
    const zt_cty_value *unk = zt_cty_unknown(A, &zt_cty_string_type);
    ssize_t i = zt_cty_type_attr_index(s->type, "name");
    const zt_cty_value **vals = zt_arena_calloc(A, s->type->n, sizeof(*vals));
    memcpy(vals, cfg->u.coll.elems, s->type->n * sizeof(*vals));
    vals[i] = unk;
    const zt_cty_value *o = zt_cty_object(A, s->type, vals);
    ck_assert(!zt_cty_is_known(zt_cty_get_attr(zt_schema_defaults(A, s->block, o, o), "group")));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("schema");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_every_embedded_schema_parses);
    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_registry_matches_definitions);
    tcase_add_test(tc, test_registry_thread_safe);
    tcase_add_test(tc, test_provider_block_type);
    tcase_add_test(tc, test_address_plan_block_type);
    tcase_add_test(tc, test_nested_block_types);
    tcase_add_test(tc, test_nested_attribute_types);
    tcase_add_test(tc, test_invalid_documents);
    tcase_add_test(tc, test_comments_and_minimal_documents);
    tcase_add_test(tc, test_defaults_fill_what_config_leaves_out);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
