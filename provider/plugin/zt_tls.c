/* zt_tls.c - see zt_tls.h. */
#include "zt_tls.h"
#include "zt_log.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

char *zt_tls_base64_raw(zt_arena *a, const unsigned char *p, size_t n)
{
    char *out = zt_arena_alloc(a, 4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=')
        out[--len] = '\0';
    return out;
}

static char *bio_to_arena(zt_arena *a, BIO *bio, bool secret)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    char *copy = zt_arena_strndup(a, data, (size_t)len);
    if (secret) {
        char *s = zt_arena_secret_strdup(a, copy);
        OPENSSL_cleanse(copy, (size_t)len);
        return s;
    }
    return copy;
}

static bool add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return false;
    bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* A positive 128-bit random serial (Go rejects negative serials). */
static bool set_serial(X509 *cert)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return false;
    raw[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok;
}

/* The key's public point, uncompressed: 0x04 || X || Y. */
#define ZT_P256_POINT 65
#define ZT_P256_SCALAR 32

static bool p256_point(EVP_PKEY *key, unsigned char point[ZT_P256_POINT])
{
    size_t len = 0;
    return EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                           ZT_P256_POINT, &len) == 1 &&
           len == ZT_P256_POINT && point[0] == 0x04;
}

/* The SubjectPublicKeyInfo from the key's point (id-ecPublicKey on P-256).
 * OpenSSL 3.0's X509_set_pubkey and PEM_write_bio_PrivateKey go through its
 * encoder and decoder framework, whose set-up took a sixth of the
 * instructions of a provider's start-up; these two structures are fixed. */
static bool set_pubkey_p256(X509 *cert, EVP_PKEY *key)
{
    unsigned char point[ZT_P256_POINT];
    if (!p256_point(key, point))
        return false;
    size_t len = sizeof(point);
    unsigned char *bits = OPENSSL_memdup(point, len);
    if (!bits)
        return false;
    if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                               V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1), bits,
                               (int)len) != 1) {
        OPENSSL_free(bits);
        return false;
    }
    return true;
}

static X509 *make_cert(EVP_PKEY *key)
{
    X509 *cert = X509_new();
    if (!cert)
        return NULL;
    X509_NAME *name = X509_get_subject_name(cert);
    bool ok = X509_set_version(cert, 2) == 1 && set_serial(cert) &&
              /* NotBefore a little in the past absorbs clock skew, as go-plugin does. */
              X509_gmtime_adj(X509_getm_notBefore(cert), -30) &&
              X509_gmtime_adj(X509_getm_notAfter(cert), 262980L * 3600) &&
              X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                         (const unsigned char *)"HashiCorp", -1, -1, 0) &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                         (const unsigned char *)"localhost", -1, -1, 0) &&
              X509_set_issuer_name(cert, name) == 1 && set_pubkey_p256(cert, key) &&
              add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") &&
              add_ext(cert, NID_key_usage,
                      "critical,digitalSignature,keyEncipherment,keyAgreement,keyCertSign") &&
              add_ext(cert, NID_ext_key_usage, "serverAuth,clientAuth") &&
              add_ext(cert, NID_subject_alt_name, "DNS:localhost") &&
              add_ext(cert, NID_subject_key_identifier, "hash") &&
              X509_sign(cert, key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* The private key as SEC 1 ECPrivateKey (RFC 5915), PEM "EC PRIVATE KEY":
 * SEQUENCE { INTEGER 1, OCTET STRING d, [0] OID prime256v1, [1] BIT STRING
 * point }, 121 bytes. The DER and the scalar are wiped after use. */
static bool write_key_p256(BIO *bio, EVP_PKEY *key)
{
    static const unsigned char head[] = {0x30, 0x77, 0x02, 0x01, 0x01, 0x04, ZT_P256_SCALAR};
    static const unsigned char curve[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                          0xce, 0x3d, 0x03, 0x01, 0x07};
    static const unsigned char bits[] = {0xa1, 0x44, 0x03, 0x42, 0x00};
    unsigned char der[sizeof(head) + ZT_P256_SCALAR + sizeof(curve) + sizeof(bits) +
                      ZT_P256_POINT];
    unsigned char *p = der;
    BIGNUM *d = NULL;
    bool ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1;
    memcpy(p, head, sizeof(head));
    p += sizeof(head);
    ok = ok && BN_bn2binpad(d, p, ZT_P256_SCALAR) == ZT_P256_SCALAR;
    p += ZT_P256_SCALAR;
    memcpy(p, curve, sizeof(curve));
    p += sizeof(curve);
    memcpy(p, bits, sizeof(bits));
    p += sizeof(bits);
    ok = ok && p256_point(key, p) &&
         PEM_write_bio(bio, "EC PRIVATE KEY", "", der, (long)sizeof(der)) > 0;
    OPENSSL_cleanse(der, sizeof(der));
    BN_clear_free(d);
    return ok;
}

zt_rc zt_tls_make_identity(zt_arena *a, zt_tls_identity *out)
{
    zt_rc rc = ZT_ERR_TLS;
    /* P-256: accepted by Go's TLS stack, and OpenSSL's fastest curve to
     * generate and sign with (this runs on every provider start). */
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? make_cert(key) : NULL;
    BIO *cbio = BIO_new(BIO_s_mem());
    BIO *kbio = BIO_new(BIO_s_mem());
    unsigned char *der = NULL;
    int der_len = cert ? i2d_X509(cert, &der) : -1;
    if (cert && cbio && kbio && der_len > 0 && PEM_write_bio_X509(cbio, cert) == 1 &&
        write_key_p256(kbio, key)) {
        out->cert_pem = bio_to_arena(a, cbio, false);
        out->key_pem = bio_to_arena(a, kbio, true);
        out->cert_b64 = zt_tls_base64_raw(a, der, (size_t)der_len);
        rc = ZT_OK;
    } else {
        zt_log(ZT_LOG_ERROR, "plugin", "could not create the TLS identity", NULL);
    }
    OPENSSL_free(der);
    BIO_free(cbio);
    BIO_free(kbio);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

bool zt_tls_pem_has_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    bool ok = cert != NULL;
    X509_free(cert);
    BIO_free(bio);
    return ok;
}
