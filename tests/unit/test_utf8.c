/* Unit tests for zt_utf8 and the places server text reaches protocol
 * strings through it (zt_proto_pack, zt_arm_error_parse). */
#include "zt_arm.h"
#include "zt_proto.h"
#include "zt_utf8.h"

#include "zt_test.h"

#include <check.h>
#include <string.h>

START_TEST(test_valid)
{
    ck_assert(zt_utf8_valid("", 0));
    ck_assert(zt_utf8_valid("plain", 5));
    ck_assert(zt_utf8_valid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 14));
    ck_assert(!zt_utf8_valid("caf\xE9", 4));              /* Latin-1 */
    ck_assert(!zt_utf8_valid("\xC0\xAF", 2));             /* overlong '/' */
    ck_assert(!zt_utf8_valid("\xE0\x80\xAF", 3));         /* overlong */
    ck_assert(!zt_utf8_valid("\xED\xA0\x80", 3));         /* surrogate */
    ck_assert(!zt_utf8_valid("\xF4\x90\x80\x80", 4));     /* above U+10FFFF */
    ck_assert(!zt_utf8_valid("\xE2\x82", 2));             /* cut short */
    ck_assert(!zt_utf8_valid("\x80", 1));                 /* stray continuation */
}
END_TEST

START_TEST(test_fix)
{
    zt_arena *a = zt_arena_new();
    const char *ok = "d\xC3\xA9j\xC3\xA0";
    ck_assert_ptr_eq(zt_utf8_fix(a, ok, strlen(ok)), ok);
    ck_assert_str_eq(zt_utf8_fix(a, "Requ\xEAte refus\xE9""e", 15),
                     "Requ\xEF\xBF\xBDte refus\xEF\xBF\xBD""e");
    ck_assert_str_eq(zt_utf8_fix(a, "\xE2\x82", 2), "\xEF\xBF\xBD\xEF\xBF\xBD");
    const char *fixed = zt_utf8_fix(a, "\xF0\x9F\x98", 3);
    ck_assert(zt_utf8_valid(fixed, strlen(fixed)));
    zt_arena_free(a);
}
END_TEST

START_TEST(test_cut)
{
    const char *s = "ab\xE2\x82\xAC" "cd"; /* a b EURO c d */
    ck_assert_uint_eq(zt_utf8_cut(s, 7, 10), 7);
    ck_assert_uint_eq(zt_utf8_cut(s, 7, 2), 2);
    ck_assert_uint_eq(zt_utf8_cut(s, 7, 3), 2);
    ck_assert_uint_eq(zt_utf8_cut(s, 7, 4), 2);
    ck_assert_uint_eq(zt_utf8_cut(s, 7, 5), 5);
    const char *emoji = "\xF0\x9F\x98\x80x";
    ck_assert_uint_eq(zt_utf8_cut(emoji, 5, 3), 0);
    ck_assert_uint_eq(zt_utf8_cut(emoji, 5, 4), 4);
}
END_TEST

/* A text (non-JSON) error body longer than the 512 bytes kept: cut on a
 * character boundary and valid, whatever the server sent. */
START_TEST(test_error_body_text)
{
    zt_arena *a = zt_arena_new();
    char body[600];
    memset(body, 'x', sizeof(body));
    memcpy(body, "<html>Requ\xEAte refus\xE9""e", 21);
    memcpy(body + 510, "\xE2\x82\xAC", 3); /* a euro sign across the 512 limit */
    zt_arm_error *e = zt_arm_error_parse(a, 400, body, sizeof(body));
    ck_assert(zt_utf8_valid(e->message, strlen(e->message)));
    ck_assert_ptr_nonnull(strstr(e->message, "Requ\xEF\xBF\xBDte"));
    ck_assert_ptr_nonnull(strstr(e->message, "xx..."));
    ck_assert_ptr_null(strstr(e->message, "\xE2\x82."));
    zt_arena_free(a);
}
END_TEST

/* What Terraform receives: every string field of a packed message,
 * nested and repeated ones included, decodes as valid UTF-8. */
START_TEST(test_pack_fixes_strings)
{
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_path *p = zt_path_key(a, zt_path_attr(a, NULL, "tags"), "co\xFBt");
    zt_diag_error(&d, p, "Failed to apply \xE9", "HTTP 400: <h1>Requ\xEAte refus\xE9""e</h1> "
                  "(x-ms-request-id caf\xE9)");
    Tfplugin6__ApplyResourceChange__Response resp =
        TFPLUGIN6__APPLY_RESOURCE_CHANGE__RESPONSE__INIT;
    resp.diagnostics = zt_proto_diags(a, &d, &resp.n_diagnostics);
    const void *data;
    size_t len;
    zt_proto_pack(a, &resp.base, &data, &len);
    Tfplugin6__ApplyResourceChange__Response *back =
        (Tfplugin6__ApplyResourceChange__Response *)protobuf_c_message_unpack(
            &tfplugin6__apply_resource_change__response__descriptor, NULL, len, data);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->n_diagnostics, 1);
    Tfplugin6__Diagnostic *g = back->diagnostics[0];
    ck_assert(zt_utf8_valid(g->summary, strlen(g->summary)));
    ck_assert(zt_utf8_valid(g->detail, strlen(g->detail)));
    ck_assert_ptr_nonnull(strstr(g->detail, "Requ\xEF\xBF\xBDte"));
    const char *key = g->attribute->steps[1]->element_key_string;
    ck_assert_str_eq(key, "co\xEF\xBF\xBDt");
    protobuf_c_message_free_unpacked(&back->base, NULL);
    zt_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("utf8");
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_fix);
    tcase_add_test(tc, test_cut);
    tcase_add_test(tc, test_error_body_text);
    tcase_add_test(tc, test_pack_fixes_strings);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
