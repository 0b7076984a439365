/* Unit tests for certificate loading and the JWT client assertion: the
 * signature is verified here with OpenSSL, independently of the signer. */
#include "zt_arm_internal.h"

#include "zt_test.h"

#include <check.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static EVP_PKEY *g_key;
static X509 *g_cert;
static char g_dir[] = "/tmp/zt-arm-jwt-XXXXXX";

static X509 *self_signed(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"zt-test", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, key);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    return x;
}

static const char *path_of(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", g_dir, name);
    return buf[i];
}

static void write_files(void)
{
    FILE *f = fopen(path_of("plain.pem"), "w");
    /* the certificate first, a foreign certificate too: loading must pick
     * the one that matches the key */
    EVP_PKEY *other = EVP_RSA_gen(2048);
    X509 *foreign = self_signed(other);
    PEM_write_X509(f, foreign);
    PEM_write_X509(f, g_cert);
    PEM_write_PrivateKey(f, g_key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(foreign);
    EVP_PKEY_free(other);

    f = fopen(path_of("enc.pem"), "w");
    PEM_write_PrivateKey(f, g_key, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)"pem-pass");
    PEM_write_X509(f, g_cert);
    fclose(f);

    PKCS12 *p12 = PKCS12_create("p12-pass", "zt", g_key, g_cert, NULL, 0, 0, 0, 0, 0);
    ck_assert_ptr_nonnull(p12);
    f = fopen(path_of("cert.pfx"), "wb");
    i2d_PKCS12_fp(f, p12);
    fclose(f);
    PKCS12_free(p12);

    EVP_PKEY *ec = EVP_EC_gen("P-256");
    X509 *ecc = self_signed(ec);
    f = fopen(path_of("ec.pem"), "w");
    PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL);
    PEM_write_X509(f, ecc);
    fclose(f);
    X509_free(ecc);
    EVP_PKEY_free(ec);
}

static void setup(void)
{
    if (g_key)
        return;
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    g_key = EVP_RSA_gen(2048);
    g_cert = self_signed(g_key);
    write_files();
}

/* What the assertion header's x5t#S256 must be: computed from the DER
 * bytes here rather than with X509_digest, as the code under test does. */
static char *expected_thumb(zt_arena *a, const EVP_MD *md)
{
    unsigned char *der = NULL;
    int n = i2d_X509(g_cert, &der);
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    EVP_Digest(der, (size_t)n, h, &hl, md, NULL);
    OPENSSL_free(der);
    return zt_arm_b64url(a, h, hl);
}

static json_t *decode_part(zt_arena *a, const char *p, size_t n)
{
    size_t len;
    unsigned char *raw = zt_arm_b64_decode(a, zt_arena_strndup(a, p, n), &len);
    ck_assert_ptr_nonnull(raw);
    json_t *j = json_loadb((const char *)raw, len, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

static bool verify(const char *jwt, zt_arm_jwt_alg alg, int padding_override)
{
    zt_arena *a = zt_arena_new();
    const char *dot2 = strrchr(jwt, '.');
    size_t siglen;
    unsigned char *sig = zt_arm_b64_decode(a, dot2 + 1, &siglen);
    ck_assert_ptr_nonnull(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    ck_assert_int_eq(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, X509_get0_pubkey(g_cert)), 1);
    int padding = padding_override ? padding_override
                                   : alg == ZT_ARM_JWT_PS256 ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    EVP_PKEY_CTX_set_rsa_padding(pctx, padding);
    if (padding == RSA_PKCS1_PSS_PADDING) {
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32); /* RFC 7518: salt = hash length */
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256());
    }
    int ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt, (size_t)(dot2 - jwt));
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    zt_arena_free(a);
    return ok == 1;
}

static void check_assertion(zt_arm_jwt_alg alg)
{
    setup();
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_arm_cert *c = NULL;
    ck_assert_int_eq(zt_arm_cert_load(path_of("plain.pem"), NULL, NULL, &d, &c), ZT_OK);
    const char *aud = "https://login.example/tenant-1/oauth2/v2.0/token";
    const char *jwt;
    ck_assert_int_eq(zt_arm_jwt_assertion(a, c, alg, "app-123", aud, 1700000000, 600, &jwt), ZT_OK);

    const char *dot1 = strchr(jwt, '.');
    const char *dot2 = strrchr(jwt, '.');
    ck_assert_ptr_ne(dot1, dot2);
    json_t *hdr = decode_part(a, jwt, (size_t)(dot1 - jwt));
    json_t *claims = decode_part(a, dot1 + 1, (size_t)(dot2 - dot1 - 1));

    ck_assert_str_eq(json_string_value(json_object_get(hdr, "alg")),
                     alg == ZT_ARM_JWT_PS256 ? "PS256" : "RS256");
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "typ")), "JWT");
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "x5t#S256")),
                     expected_thumb(a, EVP_sha256()));
    if (alg == ZT_ARM_JWT_RS256)
        ck_assert_str_eq(json_string_value(json_object_get(hdr, "x5t")),
                         expected_thumb(a, EVP_sha1()));
    else
        ck_assert_ptr_null(json_object_get(hdr, "x5t"));

    ck_assert_str_eq(json_string_value(json_object_get(claims, "aud")), aud);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "iss")), "app-123");
    ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "app-123");
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    ck_assert_uint_eq(strlen(jti), 36);
    ck_assert_int_eq(jti[14], '4'); /* UUID v4 */
    ck_assert_int_eq(json_integer_value(json_object_get(claims, "nbf")), 1700000000);
    ck_assert_int_eq(json_integer_value(json_object_get(claims, "exp")), 1700000600);
    /* no padding, URL-safe alphabet */
    ck_assert_ptr_null(strpbrk(jwt, "=+/"));

    ck_assert(verify(jwt, alg, 0));
    /* the other padding must not verify: the algorithms really differ */
    ck_assert(!verify(jwt, alg, alg == ZT_ARM_JWT_PS256 ? RSA_PKCS1_PADDING : RSA_PKCS1_PSS_PADDING));
    /* a tampered claim must not verify */
    char *bad = zt_arena_strdup(a, jwt);
    bad[dot1 - jwt + 5] = bad[dot1 - jwt + 5] == 'A' ? 'B' : 'A';
    ck_assert(!verify(bad, alg, 0));

    /* two assertions never share a jti */
    const char *jwt2;
    zt_arm_jwt_assertion(a, c, alg, "app-123", aud, 1700000000, 600, &jwt2);
    json_t *claims2 = decode_part(a, strchr(jwt2, '.') + 1,
                                  (size_t)(strrchr(jwt2, '.') - strchr(jwt2, '.') - 1));
    ck_assert_str_ne(jti, json_string_value(json_object_get(claims2, "jti")));
    json_decref(hdr);
    json_decref(claims);
    json_decref(claims2);
    zt_arm_cert_free(c);
    zt_arena_free(a);
}

START_TEST(test_assertion_ps256) { check_assertion(ZT_ARM_JWT_PS256); }
END_TEST

START_TEST(test_assertion_rs256) { check_assertion(ZT_ARM_JWT_RS256); }
END_TEST

static zt_rc load(const char *path, const char *inline_data, const char *pw, zt_arm_cert **c,
                  size_t *errors)
{
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_rc rc = zt_arm_cert_load(path, inline_data, pw, &d, c);
    *errors = d.errors;
    zt_arena_free(a);
    return rc;
}

START_TEST(test_load_formats)
{
    setup();
    zt_arm_cert *c = NULL;
    size_t errors;
    unsigned char want[32];
    unsigned int n = 32;
    X509_digest(g_cert, EVP_sha256(), want, &n);

    ck_assert_int_eq(load(path_of("enc.pem"), NULL, "pem-pass", &c, &errors), ZT_OK);
    ck_assert_mem_eq(c->sha256, want, 32);
    zt_arm_cert_free(c);

    ck_assert_int_eq(load(path_of("cert.pfx"), NULL, "p12-pass", &c, &errors), ZT_OK);
    ck_assert_mem_eq(c->sha256, want, 32);
    ck_assert_int_eq(EVP_PKEY_eq(c->key, g_key), 1);
    zt_arm_cert_free(c);

    /* azurerm style: base64 PKCS#12 inline */
    char *buf;
    size_t len;
    ck_assert_int_eq(zt_arm_read_file(path_of("cert.pfx"), 1 << 20, &buf, &len), ZT_OK);
    unsigned char *b64 = malloc(len * 2 + 4);
    EVP_EncodeBlock(b64, (unsigned char *)buf, (int)len);
    ck_assert_int_eq(load(NULL, (char *)b64, "p12-pass", &c, &errors), ZT_OK);
    ck_assert_mem_eq(c->sha256, want, 32);
    zt_arm_cert_free(c);
    free(b64);
    zt_arm_free_secret(buf, len);
}
END_TEST

START_TEST(test_load_errors)
{
    setup();
    zt_arm_cert *c = NULL;
    size_t errors = 0;
    ck_assert_int_eq(load(path_of("cert.pfx"), NULL, "wrong", &c, &errors), ZT_ERR_INVALID);
    ck_assert_uint_eq(errors, 1);
    ck_assert_int_eq(load(path_of("enc.pem"), NULL, "wrong", &c, &errors), ZT_ERR_INVALID);
    ck_assert_uint_eq(errors, 1);
    /* encrypted key without a password: an error, never a terminal prompt */
    ck_assert_int_eq(load(path_of("enc.pem"), NULL, NULL, &c, &errors), ZT_ERR_INVALID);
    ck_assert_int_eq(load(path_of("ec.pem"), NULL, NULL, &c, &errors), ZT_ERR_INVALID);
    ck_assert_int_eq(load(path_of("missing.pem"), NULL, NULL, &c, &errors), ZT_ERR_INVALID);
    ck_assert_int_eq(load(NULL, "!!not base64!!", NULL, &c, &errors), ZT_ERR_INVALID);
    ck_assert_uint_eq(errors, 1);
}
END_TEST

START_TEST(test_b64url)
{
    zt_arena *a = zt_arena_new();
    ck_assert_str_eq(zt_arm_b64url(a, "", 0), "");
    ck_assert_str_eq(zt_arm_b64url(a, "f", 1), "Zg");
    ck_assert_str_eq(zt_arm_b64url(a, "fo", 2), "Zm8");
    ck_assert_str_eq(zt_arm_b64url(a, "foo", 3), "Zm9v");
    ck_assert_str_eq(zt_arm_b64url(a, "\xfb\xff\xbf", 3), "-_-_");
    size_t n;
    unsigned char *d = zt_arm_b64_decode(a, "-_-_", &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(d, "\xfb\xff\xbf", 3);
    d = zt_arm_b64_decode(a, "Zm8=", &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_null(zt_arm_b64_decode(a, "Z", &n));
    ck_assert_ptr_null(zt_arm_b64_decode(a, "Zm=8", &n));
    zt_arena_free(a);
}
END_TEST

static void teardown_files(void)
{
    const char *names[] = {"plain.pem", "enc.pem", "cert.pfx", "ec.pem"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(names); i++)
        unlink(path_of(names[i]));
    rmdir(g_dir);
}

int main(void)
{
    Suite *s = suite_create("arm_jwt");
    TCase *tc = tcase_create("jwt");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_b64url);
    tcase_add_test(tc, test_assertion_ps256);
    tcase_add_test(tc, test_assertion_rs256);
    tcase_add_test(tc, test_load_formats);
    tcase_add_test(tc, test_load_errors);
    suite_add_tcase(s, tc);
    int failed = zt_test_failures(s, true);  /* keys are generated once */
    if (g_key)
        teardown_files();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
