/* Unit tests for the policy evaluator (provider/policy): every built-in
 * definition of third_party/azure-policy against the resource it allows
 * and the one it refuses (tests/common/policy_cases.json, which the
 * emulator's evaluator runs too), every alias those definitions use in the
 * alias table, values not known yet (three-valued results), and what it
 * cannot evaluate reported, never passed. */
#include "zt_policy.h"

#include "zt_test.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static zt_arena *A;

static void setup(void) { A = zt_arena_new(); }
static void teardown(void) { zt_arena_free(A); }

static json_t *owned(json_t *v)
{
    ck_assert_ptr_nonnull(v);
    zt_arena_on_free(A, (void (*)(void *))json_decref, v);
    return v;
}

/* Every definition file: name (GUID) -> definition. */
static json_t *definitions(void)
{
    const char *dir = getenv("ZT_AZURE_POLICY_DIR");
    ck_assert_msg(dir != NULL, "ZT_AZURE_POLICY_DIR is not set (run through meson test)");
    json_t *all = owned(json_object());
    DIR *cats = opendir(dir);
    ck_assert_ptr_nonnull(cats);
    for (struct dirent *c; (c = readdir(cats));) {
        if (c->d_name[0] == '.')
            continue;
        const char *sub = zt_arena_printf(A, "%s/%s", dir, c->d_name);
        DIR *files = opendir(sub);
        for (struct dirent *f; files && (f = readdir(files));) {
            if (!strstr(f->d_name, ".json"))
                continue;
            json_t *d = json_load_file(zt_arena_printf(A, "%s/%s", sub, f->d_name), 0, NULL);
            ck_assert_ptr_nonnull(d);
            json_object_set_new(all, json_string_value(json_object_get(d, "name")), d);
        }
        if (files)
            closedir(files);
    }
    closedir(cats);
    return all;
}

static json_t *cases(void)
{
    const char *path = getenv("ZT_POLICY_CASES");
    ck_assert_msg(path != NULL, "ZT_POLICY_CASES is not set (run through meson test)");
    json_t *doc = owned(json_load_file(path, 0, NULL));
    return json_object_get(doc, "cases");
}

static bool indexed(const json_t *r)
{
    const char *t = json_string_value(json_object_get(r, "type"));
    return json_object_get(r, "location") &&
           strcasecmp(t, "Microsoft.Resources/subscriptions/resourceGroups") != 0;
}

/* Whether the definition lets the case's side through; evaluation must
 * be definite. */
static bool compliant(const json_t *d, const json_t *c, const char *side)
{
    const json_t *s = json_object_get(c, side);
    const json_t *r = json_object_get(s, "resource");
    zt_pol_ctx x = {
        .a = A,
        .resource = r,
        .params = zt_pol_param_values(A, d, json_object_get(c, "params")),
        .api_version = json_string_value(json_object_get(c, "api_version")),
        .resource_group = json_object_get(s, "resource_group"),
        .subscription = json_object_get(c, "subscription"),
        .indexed = indexed(r),
    };
    if (!x.api_version)
        x.api_version = "";
    zt_pol_result m = zt_pol_match(&x, d);
    ck_assert_msg(m == ZT_POL_TRUE || m == ZT_POL_FALSE, "%s: if is %d (%s)",
                  json_string_value(json_object_get(d, "name")), m, x.why ? x.why : "");
    if (m == ZT_POL_FALSE)
        return true;
    const char *effect = zt_pol_effect(&x, d);
    ck_assert_msg(effect != NULL, "no effect: %s", x.why ? x.why : "");
    if (strcasecmp(effect, "AuditIfNotExists") && strcasecmp(effect, "DeployIfNotExists"))
        return false;
    const json_t *related = json_object_get(s, "related");
    if (!related)
        return false;
    x.primary = r;
    x.resource = related;
    zt_pol_result e = zt_pol_exists(&x, d);
    ck_assert_msg(e == ZT_POL_TRUE || e == ZT_POL_FALSE, "existence is %d (%s)", e,
                  x.why ? x.why : "");
    return e == ZT_POL_TRUE;
}

START_TEST(test_every_builtin_allows_and_refuses)
{
    json_t *defs = definitions(), *all = cases();
    const char *guid;
    json_t *d;
    size_t n = 0;
    ck_assert_uint_eq(json_object_size(defs), json_object_size(all));
    json_object_foreach(defs, guid, d)
    {
        const json_t *c = json_object_get(all, guid);
        const char *name = json_string_value(json_object_get(json_object_get(d, "properties"),
                                                             "displayName"));
        ck_assert_msg(c != NULL, "no case for %s (%s)", guid, name);
        ck_assert_msg(!compliant(d, c, "denied"), "%s lets its denied case through", name);
        ck_assert_msg(compliant(d, c, "allowed"), "%s refuses its allowed case", name);
        n++;
    }
    fprintf(stderr, "evaluated %zu of %zu built-in definitions both ways\n", n,
            json_object_size(defs));
}
END_TEST

/* Field names of a rule: condition fields and field()/current() in
 * expressions; those that are not special fields must be aliases. */
static void scan(const json_t *node, json_t *names)
{
    if (json_is_object(node)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)node, k, v)
        {
            const char *s = json_string_value(v);
            if (!strcasecmp(k, "field") && s && s[0] != '[')
                json_object_set_new(names, s, json_true());
            scan(v, names);
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v)
            scan(v, names);
    } else if (json_is_string(node)) {
        const char *s = json_string_value(node), *p = s;
        while ((p = strstr(p, "('")) != NULL) {
            bool fn = (p - s >= 5 && !strncmp(p - 5, "field", 5)) ||
                      (p - s >= 7 && !strncmp(p - 7, "current", 7));
            const char *end = strchr(p + 2, '\'');
            if (fn && end)
                json_object_set_new(names, zt_arena_strndup(A, p + 2, (size_t)(end - p - 2)),
                                    json_true());
            p += 2;
        }
    }
}

START_TEST(test_every_alias_is_in_the_table)
{
    json_t *defs = definitions(), *names = owned(json_object());
    const char *guid, *name;
    json_t *d, *v;
    json_object_foreach(defs, guid, d)
        scan(json_object_get(json_object_get(d, "properties"), "policyRule"), names);
    size_t aliases = 0;
    json_object_foreach(names, name, v)
    {
        bool legacy;
        if (!strchr(name, '/'))
            continue; /* type, name, location, fullName, tags[...]: special fields */
        aliases++;
        ck_assert_msg(zt_pol_alias_path(name, &legacy) != NULL, "alias %s is not in the table",
                      name);
    }
    ck_assert_uint_gt(aliases, 30);
    bool legacy;
    ck_assert_str_eq(zt_pol_alias_path("microsoft.insights/diagnosticSettings/LOGS.enabled",
                                       &legacy), "properties.logs[*].enabled");
    ck_assert(legacy);
    ck_assert_ptr_nonnull(zt_pol_alias_path("Microsoft.Storage/storageAccounts/"
                                            "supportsHttpsTrafficOnly", &legacy));
    ck_assert(!legacy);
    ck_assert_ptr_nonnull(zt_pol_alias_at(0));
}
END_TEST

/* ---- values not known at plan -------------------------------------------------- */

#define PH "<zt:unknown>"

static zt_pol_result eval(const char *resource, const char *cond)
{
    zt_pol_ctx x = {.a = A, .resource = owned(json_loads(resource, 0, NULL)),
                    .params = owned(json_object()), .placeholder = PH, .indexed = true};
    return zt_pol_holds(&x, owned(json_loads(cond, 0, NULL)));
}

START_TEST(test_unknown_values)
{
    const char *sa = "{\"type\":\"Microsoft.Storage/storageAccounts\",\"name\":\"st\","
                     "\"properties\":{\"publicNetworkAccess\":\"" PH "\","
                     "\"minimumTlsVersion\":\"TLS1_2\"}}";
    const char *pna = "{\"field\":\"Microsoft.Storage/storageAccounts/publicNetworkAccess\","
                      "\"notEquals\":\"Disabled\"}";
    ck_assert_int_eq(eval(sa, pna), ZT_POL_UNKNOWN);
    /* exists is known: the property is there, whatever its value */
    ck_assert_int_eq(eval(sa, "{\"field\":\"Microsoft.Storage/storageAccounts/"
                              "publicNetworkAccess\",\"exists\":true}"), ZT_POL_TRUE);
    /* a known false member decides allOf; a known true one anyOf */
    const char *tls = "{\"field\":\"Microsoft.Storage/storageAccounts/minimumTlsVersion\","
                      "\"equals\":\"TLS1_0\"}";
    ck_assert_int_eq(eval(sa, zt_arena_printf(A, "{\"allOf\":[%s,%s]}", pna, tls)), ZT_POL_FALSE);
    ck_assert_int_eq(eval(sa, zt_arena_printf(A, "{\"anyOf\":[%s,{\"not\":%s}]}", pna, tls)),
                     ZT_POL_TRUE);
    ck_assert_int_eq(eval(sa, zt_arena_printf(A, "{\"not\":%s}", pna)), ZT_POL_UNKNOWN);
    /* through a template function that looks inside */
    ck_assert_int_eq(eval(sa, "{\"value\":\"[empty(field('Microsoft.Storage/storageAccounts/"
                              "publicNetworkAccess'))]\",\"equals\":false}"), ZT_POL_UNKNOWN);
    /* an ID built from a name not known yet */
    ck_assert_int_eq(eval("{\"type\":\"t\",\"id\":\"/subscriptions/s/resourceGroups/" PH "\"}",
                          "{\"field\":\"id\",\"contains\":\"/resourceGroups/aro-\"}"),
                     ZT_POL_UNKNOWN);
}
END_TEST

START_TEST(test_unevaluable_is_reported)
{
    zt_pol_ctx x = {.a = A, .resource = owned(json_pack("{s:s}", "type", "t")),
                    .params = owned(json_object())};
    ck_assert_int_eq(zt_pol_holds(&x, owned(json_pack("{s:s,s:s}", "field", "Microsoft.Nope/x/y",
                                                      "equals", "z"))),
                     ZT_POL_UNEVALUABLE);
    ck_assert_ptr_nonnull(strstr(x.why, "Microsoft.Nope/x/y"));
    x.why = NULL;
    ck_assert_int_eq(zt_pol_holds(&x, owned(json_pack("{s:s,s:s}", "value", "[utcNow()]",
                                                      "equals", "z"))),
                     ZT_POL_UNEVALUABLE);
    ck_assert_ptr_nonnull(strstr(x.why, "utcNow"));
    x.why = NULL;
    /* a FALSE member still decides allOf */
    ck_assert_int_eq(zt_pol_holds(&x, owned(json_loads(
                         "{\"allOf\":[{\"field\":\"type\",\"equals\":\"other\"},"
                         "{\"value\":\"[utcNow()]\",\"equals\":1}]}", 0, NULL))),
                     ZT_POL_FALSE);
    x.why = NULL;
    ck_assert_int_eq(zt_pol_holds(&x, owned(json_pack("{s:s,s:s,s:s}", "field", "type",
                                                      "equals", "a", "like", "b"))),
                     ZT_POL_UNEVALUABLE);
    x.why = NULL;
    ck_assert_int_eq(zt_pol_holds(&x, owned(json_pack("{s:s,s:s}", "value",
                                                      "[concat('a', ]", "equals", "a"))),
                     ZT_POL_UNEVALUABLE);
}
END_TEST

/* A field path with a '[' that is not a "[*]" fan-out (a definition read
 * from ARM may have anything) is a name like any other: no member has it.
 * The walk over the path used to stop moving there and never return. */
START_TEST(test_bracket_in_a_field_path)
{
    const char *r = "{\"type\":\"t\",\"identity\":{\"type\":\"UserAssigned\","
                    "\"userAssignedIdentities\":{\"a\":{\"clientId\":\"c\"}}}}";
    ck_assert_int_eq(eval(r, "{\"field\":\"identity.userAssignedIdentities[0].clientId\","
                             "\"exists\":false}"), ZT_POL_TRUE);
    ck_assert_int_eq(eval(r, "{\"field\":\"identity.type[\",\"exists\":false}"), ZT_POL_TRUE);
    ck_assert_int_eq(eval(r, "{\"field\":\"identity.type\",\"equals\":\"UserAssigned\"}"),
                     ZT_POL_TRUE);
}
END_TEST

START_TEST(test_operators_and_functions)
{
    const char *r = "{\"type\":\"Microsoft.KeyVault/vaults\",\"name\":\"kv-Prod-01\","
                    "\"id\":\"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/"
                    "virtualNetworks/vnet/subnets/sn\",\"location\":\"West Europe\","
                    "\"tags\":{\"Env\":\"prod\"},\"properties\":{\"enableSoftDelete\":true}}";
    struct {
        const char *cond;
        zt_pol_result want;
    } t[] = {
        {"{\"field\":\"type\",\"equals\":\"microsoft.keyvault/VAULTS\"}", ZT_POL_TRUE},
        {"{\"field\":\"location\",\"equals\":\"westeurope\"}", ZT_POL_TRUE},
        {"{\"field\":\"name\",\"like\":\"kv-*-0?\"}", ZT_POL_FALSE},
        {"{\"field\":\"name\",\"like\":\"KV-*\"}", ZT_POL_TRUE},
        {"{\"field\":\"name\",\"match\":\"KV-??\?\?-##\"}", ZT_POL_FALSE},
        {"{\"field\":\"name\",\"match\":\"kv-??\?\?-##\"}", ZT_POL_TRUE},
        {"{\"field\":\"name\",\"matchInsensitively\":\"KV-??\?\?-##\"}", ZT_POL_TRUE},
        {"{\"field\":\"tags['env']\",\"equals\":\"PROD\"}", ZT_POL_TRUE},
        {"{\"field\":\"tags.owner\",\"exists\":\"false\"}", ZT_POL_TRUE},
        {"{\"field\":\"tags\",\"containsKey\":\"env\"}", ZT_POL_TRUE},
        {"{\"field\":\"Microsoft.KeyVault/vaults/enableSoftDelete\",\"equals\":\"TRUE\"}",
         ZT_POL_TRUE},
        {"{\"field\":\"Microsoft.KeyVault/vaults/createMode\",\"notEquals\":\"recover\"}",
         ZT_POL_TRUE},
        {"{\"field\":\"Microsoft.KeyVault/vaults/createMode\",\"equals\":\"\"}", ZT_POL_TRUE},
        {"{\"field\":\"Microsoft.KeyVault/vaults/createMode\",\"in\":[\"recover\",\"default\"]}",
         ZT_POL_FALSE},
        {"{\"field\":\"fullName\",\"equals\":\"vnet/sn\"}", ZT_POL_TRUE},
        {"{\"value\":\"[first(split(field('fullName'), '/'))]\",\"equals\":\"vnet\"}",
         ZT_POL_TRUE},
        {"{\"value\":\"[padLeft('7', 3, '0')]\",\"greaterOrEquals\":\"007\"}", ZT_POL_TRUE},
        {"{\"value\":\"[if(equals(toLower('A'), 'a'), 10, 2)]\",\"greater\":9}", ZT_POL_TRUE},
        {"{\"value\":\"2019-04-01\",\"less\":\"2021-06-01-preview\"}", ZT_POL_TRUE},
        {"{\"value\":\"[length(concat('ab', 'c'))]\",\"equals\":3}", ZT_POL_TRUE},
        {"{\"count\":{\"value\":[1,2,3],\"name\":\"n\",\"where\":{\"value\":\"[current('n')]\","
         "\"greater\":1}},\"equals\":2}", ZT_POL_TRUE},
    };
    for (size_t i = 0; i < ZT_ARRAY_LEN(t); i++)
        ck_assert_msg(eval(r, t[i].cond) == t[i].want, "%s", t[i].cond);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("policy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_every_builtin_allows_and_refuses);
    tcase_add_test(tc, test_every_alias_is_in_the_table);
    tcase_add_test(tc, test_unknown_values);
    tcase_add_test(tc, test_unevaluable_is_reported);
    tcase_add_test(tc, test_operators_and_functions);
    tcase_add_test(tc, test_bracket_in_a_field_path);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
