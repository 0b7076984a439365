/* zt_test_emulator.h - what C integration tests need of the local ARM
 * emulator (tests/emulator): its emulator.json (URL, test CA, tenant,
 * subscription, client credentials) and its control API. Tests run through
 * tests/arm/run_with_emulator.py, which names the file in ZT_EMULATOR_JSON. */
#ifndef ZT_TEST_EMULATOR_H
#define ZT_TEST_EMULATOR_H

#include <jansson.h>

typedef struct zt_test_emulator {
    json_t *info; /* the whole emulator.json */
    const char *url, *ca, *tenant, *sub, *client, *secret;
} zt_test_emulator;

/* Load emulator.json; exits 77 (meson: skipped) when ZT_EMULATOR_JSON is
 * not set, 1 when the file is unreadable. */
void zt_test_emulator_load(zt_test_emulator *e);

/* A string member of o; exits 1 when it is missing. */
const char *zt_test_emulator_str(const json_t *o, const char *key);

/* A control API call (URL/__emulator + path) with an optional JSON body;
 * fails the running Check test unless the answer is 2xx. Returns the
 * parsed answer (caller decrefs; NULL for an empty one). */
json_t *zt_test_emulator_ctl(const zt_test_emulator *e, const char *method, const char *path,
                             const char *body);
/* The same with the body printf-formatted (fmt NULL: no body). */
json_t *zt_test_emulator_ctlf(const zt_test_emulator *e, const char *method, const char *path,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
