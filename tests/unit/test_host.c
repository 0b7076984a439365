/* Unit tests for the go-plugin host pieces: handshake line, protocol
 * choice, reattach JSON and the AutoMTLS certificate. */
#include "zt_host.h"
#include "zt_tls.h"

#include "zt_test.h"

#include <check.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_handshake_line)
{
    zt_arena *a = zt_arena_new();
    ck_assert_str_eq(zt_host_handshake_line(a, 6, "unix", "/tmp/plugin42", "MIIBxyz"),
                     "1|6|unix|/tmp/plugin42|grpc|MIIBxyz\n");
    /* plaintext: the sixth field stays empty, as go-plugin prints it */
    ck_assert_str_eq(zt_host_handshake_line(a, 6, "tcp", "127.0.0.1:10000", NULL),
                     "1|6|tcp|127.0.0.1:10000|grpc|\n");
    zt_arena_free(a);
}
END_TEST

START_TEST(test_pick_protocol)
{
    ck_assert_int_eq(zt_host_pick_protocol("5,6"), 6);
    ck_assert_int_eq(zt_host_pick_protocol("6,5"), 6);
    ck_assert_int_eq(zt_host_pick_protocol("6"), 6);
    ck_assert_int_eq(zt_host_pick_protocol("5"), 6); /* the client reports the mismatch */
    ck_assert_int_eq(zt_host_pick_protocol(""), 6);
    ck_assert_int_eq(zt_host_pick_protocol(NULL), 6);
    ck_assert_int_eq(zt_host_pick_protocol("16,26"), 6);
}
END_TEST

START_TEST(test_base64_raw_has_no_padding)
{
    zt_arena *a = zt_arena_new();
    ck_assert_str_eq(zt_tls_base64_raw(a, (const unsigned char *)"a", 1), "YQ");
    ck_assert_str_eq(zt_tls_base64_raw(a, (const unsigned char *)"ab", 2), "YWI");
    ck_assert_str_eq(zt_tls_base64_raw(a, (const unsigned char *)"abc", 3), "YWJj");
    ck_assert_str_eq(zt_tls_base64_raw(a, (const unsigned char *)"", 0), "");
    zt_arena_free(a);
}
END_TEST

START_TEST(test_reattach_json)
{
    zt_arena *a = zt_arena_new();
    const char *s = zt_host_reattach_json(a, 1234, "unix", "/tmp/plugin1");
    json_error_t err;
    json_t *root = json_loads(s, 0, &err);
    ck_assert_ptr_nonnull(root);
    json_t *e = json_object_get(root, "registry.zerotrust.internal/zerotrust/zerotrust");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(e, "Protocol")), "grpc");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "ProtocolVersion")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "Pid")), 1234);
    ck_assert(json_is_true(json_object_get(e, "Test")));
    json_t *addr = json_object_get(e, "Addr");
    ck_assert_str_eq(json_string_value(json_object_get(addr, "Network")), "unix");
    ck_assert_str_eq(json_string_value(json_object_get(addr, "String")), "/tmp/plugin1");
    json_decref(root);
    zt_arena_free(a);
}
END_TEST

static X509 *parse_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *c = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return c;
}

START_TEST(test_identity_certificate)
{
    zt_arena *a = zt_arena_new();
    zt_tls_identity id;
    ck_assert_int_eq(zt_tls_make_identity(a, &id), ZT_OK);
    ck_assert(zt_tls_pem_has_cert(id.cert_pem));
    ck_assert(!zt_tls_pem_has_cert("not a certificate"));
    ck_assert_ptr_nonnull(strstr(id.key_pem, "PRIVATE KEY"));
    ck_assert_ptr_null(strchr(id.cert_b64, '='));
    ck_assert_uint_gt(strlen(id.cert_b64), 50); /* the client ignores shorter fields */

    X509 *c = parse_cert(id.cert_pem);
    ck_assert_ptr_nonnull(c);
    /* Go's client needs SAN localhost and serverAuth; it presents the same
     * certificate as CA, so CA:TRUE and the key usages matter too. */
    ck_assert_int_eq(X509_check_host(c, "localhost", 0, 0, NULL), 1);
    ck_assert(X509_get_extended_key_usage(c) & XKU_SSL_SERVER);
    ck_assert(X509_get_extended_key_usage(c) & XKU_SSL_CLIENT);
    ck_assert_int_eq(X509_check_ca(c), 1);
    ck_assert_int_eq(X509_check_issued(c, c), X509_V_OK);
    /* the certificate names the key the handshake will sign with */
    BIO *kbio = BIO_new_mem_buf(id.key_pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(kbio, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(key);
    ck_assert_int_eq(X509_check_private_key(c, key), 1);
    ck_assert_int_eq(X509_verify(c, key), 1);
    EVP_PKEY_free(key);
    BIO_free(kbio);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(c);
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    ck_assert(!BN_is_negative(bn) && !BN_is_zero(bn));
    BN_free(bn);
    ck_assert_int_lt(X509_cmp_current_time(X509_get0_notBefore(c)), 0);
    ck_assert_int_gt(X509_cmp_current_time(X509_get0_notAfter(c)), 0);

    /* The handshake field decodes to the same DER. */
    unsigned char *der = NULL;
    int der_len = i2d_X509(c, &der);
    ck_assert_str_eq(zt_tls_base64_raw(a, der, (size_t)der_len), id.cert_b64);
    OPENSSL_free(der);
    X509_free(c);

    zt_tls_identity id2;
    ck_assert_int_eq(zt_tls_make_identity(a, &id2), ZT_OK);
    ck_assert_str_ne(id.cert_b64, id2.cert_b64); /* fresh per launch */
    zt_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("host");
    TCase *tc = tcase_create("host");
    tcase_add_test(tc, test_handshake_line);
    tcase_add_test(tc, test_pick_protocol);
    tcase_add_test(tc, test_base64_raw_has_no_padding);
    tcase_add_test(tc, test_reattach_json);
    tcase_add_test(tc, test_identity_certificate);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
