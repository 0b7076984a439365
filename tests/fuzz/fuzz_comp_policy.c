/* libFuzzer target: a plan's policy check (provider/composite/
 * zt_comp_policy.c) on hostile Azure Policy documents, which plans read from
 * ARM: the assignments listed at a scope, the definitions and set
 * definitions they name, parameters and their values, notScopes. The input
 * is one JSON object,
 *   {"assignments": {"value": [<assignment>...], ...},
 *    "definitions": {"<definition or set definition ID>": <document>...}}
 * served as the answers of the check's reads (anything else: 404). The
 * check runs over the test composite's planned resources (a VNet, its
 * subnets, an NSG, a public IP). Whatever the input: no crash, no leak, no
 * undefined behaviour, and the only diagnostics are the check's own (an
 * error is an enforced Deny, a warning its findings or why it skipped). */
#include "zt_comp_internal.h"

#include "../composite/zt_test_composite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz check failed: %s\n", #cond);                                \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

static const char config[] =
    "{\"name\":\"t1\",\"resource_group_name\":\"rg1\",\"location\":\"westeurope\","
    "\"address_space\":\"10.0.0.0/16\",\"subnets\":{\"a\":\"10.0.1.0/24\"},"
    "\"tags\":{\"owner\":\"me\"}}";

/* The check's reads: a list (query) is the assignments, a single resource a
 * definition by its ID. */
static const json_t *answer(void *arg, const char *path, const char *query)
{
    const json_t *in = arg;
    if (query)
        return json_object_get(in, "assignments");
    return json_object_get(json_object_get(in, "definitions"), path);
}

static bool starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!in)
        return 0;
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_provider p;
    memset(&p, 0, sizeof(p));
    p.config.subscription_id = "22222222-2222-2222-2222-222222222222";
    p.config.policy_plan_checks_enabled = true;
    atomic_store(&p.configured, true);
    zt_call c = {.arena = a, .diags = &d, .provider = &p};
    zt_schema *s = NULL;
    const zt_cty_value *v = NULL;
    CHECK(zt_schema_parse(a, zt_test_schema_json, strlen(zt_test_schema_json), &s, &d) == ZT_OK);
    CHECK(zt_cty_json_decode(a, config, strlen(config), s->type, false, &v, &d) == ZT_OK);
    zt_comp_eval ev;
    zt_comp_eval_init(&ev, &c, &zt_test_composite, s, v, ZT_COMP_PLAN);
    CHECK(zt_comp_eval_subscription(&ev) == ZT_OK);
    CHECK(zt_comp_graph_build(&ev) == ZT_OK);
    for (size_t i = 0; i < ev.graph.n; i++) {
        ev.graph.inst[i].action = ZT_COMP_CREATE;
        ev.graph.inst[i].body = zt_comp_eval_body(&ev, &ev.graph.inst[i]);
    }
    zt_comp_policy_check_with(&ev, answer, in);
    for (const zt_diag *g = d.head; g; g = g->next) {
        CHECK(g->summary && g->detail);
        if (getenv("ZT_FUZZ_PRINT")) /* what an input makes of the plan, for a corpus */
            fprintf(stderr, "%s: %s\n%s\n", g->severity == ZT_SEV_ERROR ? "error" : "warning",
                    g->summary, g->detail);
        if (g->severity == ZT_SEV_ERROR)
            CHECK(starts(g->summary, "Azure Policy denies "));
        else
            CHECK(strstr(g->summary, ": Azure Policy "));
    }
    zt_arena_free(a);
    json_decref(in);
    return 0;
}
