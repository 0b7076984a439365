/* The GetProviderSchema answer encoded at build time is the one the
 * provider would encode from its schema documents, and it is what the
 * handler serves. */
#include "zt_rpc.h"

#include "zt_test.h"

#include <check.h>
#include <string.h>

extern const unsigned char zt_prebuilt_schema_response[];
extern const size_t zt_prebuilt_schema_response_len;

START_TEST(test_prebuilt_is_current)
{
    const void *built;
    size_t len;
    zt_rpc_schema_response(&built, &len);
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
    Suite *s = suite_create("schema_response");
    TCase *tc = tcase_create("prebuilt");
    tcase_add_test(tc, test_prebuilt_is_current);
    tcase_add_test(tc, test_handler_serves_prebuilt);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
