/* Unit tests for zt_arena and zt_diag. */
#include "zt_arena.h"
#include "zt_diag.h"

#include "zt_test.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_alloc_aligned_zeroed)
{
    zt_arena *a = zt_arena_new();
    for (int i = 1; i < 5000; i += 37) {
        unsigned char *p = zt_arena_alloc(a, (size_t)i);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        for (int j = 0; j < i; j++)
            ck_assert_uint_eq(p[j], 0);
        memset(p, 0xab, (size_t)i);
    }
    /* larger than a chunk */
    char *big = zt_arena_alloc(a, 1 << 20);
    big[(1 << 20) - 1] = 1;
    ck_assert_uint_gt(zt_arena_used(a), 1 << 20);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_printf_and_buf)
{
    zt_arena *a = zt_arena_new();
    ck_assert_str_eq(zt_arena_printf(a, "%s-%d", "x", 42), "x-42");
    zt_buf b;
    zt_buf_init(&b, a);
    for (int i = 0; i < 1000; i++)
        zt_buf_printf(&b, "%d,", i % 10);
    ck_assert_uint_eq(b.len, 2000);
    ck_assert_int_eq(strncmp(zt_buf_cstr(&b), "0,1,2,", 6), 0);
    zt_arena_free(a);
}
END_TEST

static int g_cleanups;
static void count_cleanup(void *arg) { g_cleanups += *(int *)arg; }

START_TEST(test_cleanups_run_in_reverse)
{
    zt_arena *a = zt_arena_new();
    static int one = 1, ten = 10;
    g_cleanups = 0;
    zt_arena_on_free(a, count_cleanup, &one);
    zt_arena_on_free(a, count_cleanup, &ten);
    char *s = zt_arena_secret_strdup(a, "hunter2");
    ck_assert_str_eq(s, "hunter2");
    zt_arena_free(a);
    ck_assert_int_eq(g_cleanups, 11);
}
END_TEST

START_TEST(test_diag_paths)
{
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_path *p = zt_path_attr(a, NULL, "subnets");
    p = zt_path_index(a, p, 2);
    p = zt_path_attr(a, p, "cidr");
    ck_assert_str_eq(zt_path_str(a, p), "subnets[2].cidr");
    zt_path *t = zt_path_key(a, zt_path_attr(a, NULL, "tags"), "owner");
    ck_assert_str_eq(zt_path_str(a, t), "tags[\"owner\"]");
    ck_assert_int_eq(zt_diag_error(&d, p, "Invalid CIDR", "got %s", "x"), ZT_ERR_INVALID);
    zt_diag_warning(&d, NULL, "Careful", NULL);
    ck_assert_uint_eq(d.count, 2);
    ck_assert_uint_eq(d.errors, 1);
    ck_assert_str_eq(d.head->detail, "got x");
    zt_arena_free(a);
}
END_TEST

/* Cleanups run in reverse order: one registered first runs after the
 * secret's wipe and can look at the (still allocated) bytes. */
static char *g_secret_seen;
static size_t g_secret_len;
static bool g_secret_wiped;
static void check_wiped(void *arg)
{
    ZT_UNUSED(arg);
    g_secret_wiped = true;
    for (size_t i = 0; i < g_secret_len; i++)
        g_secret_wiped &= g_secret_seen[i] == 0;
}

START_TEST(test_secret_printf_is_wiped)
{
    zt_arena *a = zt_arena_new();
    zt_arena_on_free(a, check_wiped, NULL);
    g_secret_seen = zt_arena_secret_printf(a, "Authorization: Bearer %s", "eyJ-token");
    ck_assert_str_eq(g_secret_seen, "Authorization: Bearer eyJ-token");
    g_secret_len = strlen(g_secret_seen);
    g_secret_wiped = false;
    zt_arena_free(a);
    ck_assert(g_secret_wiped);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_alloc_aligned_zeroed);
    tcase_add_test(tc, test_printf_and_buf);
    tcase_add_test(tc, test_cleanups_run_in_reverse);
    tcase_add_test(tc, test_diag_paths);
    tcase_add_test(tc, test_secret_printf_is_wiped);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
