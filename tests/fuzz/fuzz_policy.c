/* libFuzzer target: the policy evaluator (provider/policy) on hostile
 * policy definitions, which plans read from ARM. The input is a definition
 * (JSON); its rule is evaluated, with and without placeholders, against a
 * fixed resource. Whatever the input, the result is one of the four, an
 * UNEVALUABLE result says why, and nothing leaks or crashes. */
#include "zt_policy.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char resource[] =
    "{\"id\":\"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st\","
    "\"name\":\"st\",\"type\":\"Microsoft.Storage/storageAccounts\",\"location\":\"westeurope\","
    "\"tags\":{\"owner\":\"<zt:unknown>\"},\"properties\":{\"supportsHttpsTrafficOnly\":true,"
    "\"networkAcls\":{\"ipRules\":[{\"value\":\"1.2.3.4\"},{\"value\":\"<zt:unknown>\"}]},"
    "\"encryption\":{\"keySource\":\"Microsoft.Keyvault\"}}}";

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz check failed: %s\n", #cond);                                \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *def = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    json_t *res = json_loads(resource, 0, NULL);
    for (int pass = 0; def && pass < 2; pass++) {
        zt_arena *a = zt_arena_new();
        zt_pol_ctx x = {.a = a, .resource = res, .indexed = true, .api_version = "2026-04-01",
                        .params = zt_pol_param_values(a, def, NULL),
                        .placeholder = pass ? "<zt:unknown>" : NULL};
        zt_pol_result r = zt_pol_match(&x, def);
        CHECK(r <= ZT_POL_UNEVALUABLE);
        CHECK(r != ZT_POL_UNEVALUABLE || x.why);
        if (r == ZT_POL_TRUE) {
            x.why = NULL;
            const char *e = zt_pol_effect(&x, def);
            CHECK(e || x.why || x.placeholder);
            x.primary = res;
            CHECK(zt_pol_exists(&x, def) <= ZT_POL_UNEVALUABLE);
        }
        zt_arena_free(a);
    }
    json_decref(def);
    json_decref(res);
    return 0;
}
