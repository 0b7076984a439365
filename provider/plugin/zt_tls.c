/* zt_tls.c - see zt_tls.h. */
#include "zt_tls.h"
#include "zt_log.h"

#include <openssl/bio.h>
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
              X509_set_issuer_name(cert, name) == 1 && X509_set_pubkey(cert, key) == 1 &&
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
        PEM_write_bio_PrivateKey(kbio, key, NULL, NULL, 0, NULL, NULL) == 1) {
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
