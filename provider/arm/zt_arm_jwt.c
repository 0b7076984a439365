/* zt_arm_jwt.c - client certificates and the JWT client assertion signed
 * with them (docs/azure-arm.md 3.4). OpenSSL 3 EVP only; RSA keys only,
 * which is what Entra accepts for certificate credentials. */
#include "zt_arm_internal.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CERT_FILE (1024 * 1024)

void zt_arm_cert_free(zt_arm_cert *c)
{
    if (!c)
        return;
    EVP_PKEY_free(c->key);
    X509_free(c->cert);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

static const char *ossl_error(zt_arena *a)
{
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e)
        return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    return zt_arena_strdup(a, buf);
}

/* Never let OpenSSL prompt on a terminal for a missing passphrase. */
static int pem_password(char *buf, int size, int rwflag, void *u)
{
    const char *pw = u;
    if (!pw)
        return -1;
    int n = (int)strlen(pw);
    if (n > size)
        return -1;
    memcpy(buf, pw, (size_t)n);
    return n;
}

static zt_rc from_pem(const unsigned char *data, size_t len, const char *password,
                      const char *what, zt_diags *d, EVP_PKEY **key, X509 **cert)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    *key = PEM_read_bio_PrivateKey(bio, NULL, pem_password, (void *)password);
    BIO_free(bio);
    if (!*key)
        return zt_diag_error(d, NULL, "Cannot read the client certificate's private key",
                             "%s: %s (is client_certificate_password right?)", what,
                             ossl_error(d->arena));
    /* The file may hold a chain: take the certificate of this key. */
    bio = BIO_new_mem_buf(data, (int)len);
    X509 *x;
    while (!*cert && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        if (X509_check_private_key(x, *key) == 1)
            *cert = x;
        else
            X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
    if (!*cert)
        return zt_diag_error(d, NULL, "Invalid client certificate",
                             "%s holds no certificate matching its private key.", what);
    return ZT_OK;
}

static pthread_once_t g_legacy_once = PTHREAD_ONCE_INIT;

static void load_legacy_provider(void)
{
    /* PKCS#12 files exported by older tools use RC2-40, which OpenSSL 3
     * keeps in the legacy provider. Loading a provider explicitly stops
     * the default one from loading implicitly, so load both. */
    OSSL_PROVIDER_load(NULL, "default");
    OSSL_PROVIDER_load(NULL, "legacy");
    ERR_clear_error();
}

static zt_rc from_pkcs12(const unsigned char *data, size_t len, const char *password,
                         const char *what, zt_diags *d, EVP_PKEY **key, X509 **cert)
{
    const unsigned char *p = data;
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
    if (!p12)
        return zt_diag_error(d, NULL, "Invalid client certificate",
                             "%s is neither PEM nor PKCS#12: %s", what, ossl_error(d->arena));
    const char *pw = password ? password : "";
    /* A wrong password shows in the MAC; tell it apart from a cipher this
     * OpenSSL does not load by default. */
    if (PKCS12_mac_present(p12) && !PKCS12_verify_mac(p12, pw, -1)) {
        PKCS12_free(p12);
        ERR_clear_error();
        return zt_diag_error(d, NULL, "Cannot open the client certificate",
                             "%s: wrong client_certificate_password (the PKCS#12 integrity "
                             "check failed).", what);
    }
    STACK_OF(X509) *ca = NULL;
    int ok = PKCS12_parse(p12, pw, key, cert, &ca);
    if (!ok) {
        ERR_clear_error();
        pthread_once(&g_legacy_once, load_legacy_provider);
        ok = PKCS12_parse(p12, pw, key, cert, &ca);
    }
    PKCS12_free(p12);
    sk_X509_pop_free(ca, X509_free);
    if (!ok || !*key || !*cert)
        return zt_diag_error(d, NULL, "Cannot open the client certificate",
                             "%s: %s (is client_certificate_password right?)", what,
                             ossl_error(d->arena));
    return ZT_OK;
}

zt_rc zt_arm_cert_load_mem(const unsigned char *data, size_t len, const char *password,
                           const char *what, zt_diags *d, zt_arm_cert **out)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    bool pem = len >= 11 && memmem(data, len, "-----BEGIN", 10) != NULL;
    zt_rc rc = pem ? from_pem(data, len, password, what, d, &key, &cert)
                   : from_pkcs12(data, len, password, what, d, &key, &cert);
    if (rc == ZT_OK && !EVP_PKEY_is_a(key, "RSA"))
        rc = zt_diag_error(d, NULL, "Unsupported client certificate key",
                           "%s: Microsoft Entra ID accepts RSA keys for certificate "
                           "credentials; this key is %s.", what, EVP_PKEY_get0_type_name(key));
    if (rc != ZT_OK) {
        EVP_PKEY_free(key);
        X509_free(cert);
        return rc;
    }
    zt_arm_cert *c = calloc(1, sizeof(*c));
    if (!c)
        zt_panic("out of memory");
    c->key = key;
    c->cert = cert;
    unsigned int n = sizeof(c->sha256);
    X509_digest(cert, EVP_sha256(), c->sha256, &n);
    n = sizeof(c->sha1);
    X509_digest(cert, EVP_sha1(), c->sha1, &n);
    *out = c;
    return ZT_OK;
}

zt_rc zt_arm_cert_load(const char *path, const char *inline_data, const char *password,
                       zt_diags *d, zt_arm_cert **out)
{
    if (path && *path) {
        char *buf;
        size_t len;
        zt_rc rc = zt_arm_read_file(path, MAX_CERT_FILE, &buf, &len);
        if (rc != ZT_OK)
            return zt_diag_error(d, zt_path_attr(d->arena, NULL, "client_certificate_path"),
                                 "Cannot read the client certificate", "%s: %s", path,
                                 zt_rc_str(rc));
        rc = zt_arm_cert_load_mem((unsigned char *)buf, len, password, path, d, out);
        zt_arm_free_secret(buf, len);
        return rc;
    }
    if (!inline_data || !*inline_data)
        return zt_diag_error(d, NULL, "No client certificate",
                             "Set client_certificate_path or client_certificate.");
    if (strstr(inline_data, "-----BEGIN"))
        return zt_arm_cert_load_mem((const unsigned char *)inline_data, strlen(inline_data),
                                    password, "client_certificate", d, out);
    /* azurerm's client_certificate: base64 of a PKCS#12 file */
    zt_arena *tmp = zt_arena_new();
    size_t len = 0;
    unsigned char *der = zt_arm_b64_decode(tmp, inline_data, &len);
    zt_rc rc;
    if (!der)
        rc = zt_diag_error(d, zt_path_attr(d->arena, NULL, "client_certificate"),
                           "Invalid client certificate",
                           "client_certificate must be PEM text or base64 PKCS#12.");
    else
        rc = zt_arm_cert_load_mem(der, len, password, "client_certificate", d, out);
    if (der)
        OPENSSL_cleanse(der, len);
    zt_arena_free(tmp);
    return rc;
}

static char *json_b64(zt_arena *a, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (!s)
        zt_panic("out of memory encoding a JWT");
    char *enc = zt_arm_b64url(a, s, strlen(s));
    free(s);
    return enc;
}

static zt_rc sign(zt_arena *a, const zt_arm_cert *c, zt_arm_jwt_alg alg, const char *input,
                  const char **sig_b64)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    zt_rc rc = ZT_ERR_TLS;
    if (!md || EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, c->key) != 1)
        goto out;
    if (alg == ZT_ARM_JWT_PS256) {
        /* RFC 7518 3.5: PSS with SHA-256, MGF1 SHA-256, salt = hash size */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)
            goto out;
    } else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        goto out;
    }
    if (EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1)
        goto out;
    sig = zt_arena_alloc(a, siglen);
    if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1)
        goto out;
    *sig_b64 = zt_arm_b64url(a, sig, siglen);
    rc = ZT_OK;
out:
    if (rc != ZT_OK)
        ERR_clear_error();
    EVP_MD_CTX_free(md);
    return rc;
}

zt_rc zt_arm_jwt_assertion(zt_arena *a, const zt_arm_cert *c, zt_arm_jwt_alg alg,
                           const char *client_id, const char *audience, int64_t now_s,
                           int64_t lifetime_s, const char **out)
{
    if (!c || !client_id || !*client_id || !audience || !*audience || lifetime_s <= 0)
        return ZT_ERR_INVALID;
    char jti[37];
    zt_arm_uuid4(jti);
    json_t *hdr = json_pack("{s:s, s:s, s:s}", "alg", alg == ZT_ARM_JWT_PS256 ? "PS256" : "RS256",
                            "typ", "JWT", "x5t#S256", zt_arm_b64url(a, c->sha256, 32));
    /* Older Entra tenants look only at the SHA-1 thumbprint for RS256. */
    if (alg == ZT_ARM_JWT_RS256)
        json_object_set_new(hdr, "x5t", json_string(zt_arm_b64url(a, c->sha1, 20)));
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "aud", audience, "iss",
                               client_id, "sub", client_id, "jti", jti, "iat",
                               (json_int_t)now_s, "nbf", (json_int_t)now_s, "exp",
                               (json_int_t)(now_s + lifetime_s));
    if (!hdr || !claims)
        zt_panic("out of memory building a JWT");
    const char *input = zt_arena_printf(a, "%s.%s", json_b64(a, hdr), json_b64(a, claims));
    json_decref(hdr);
    json_decref(claims);
    const char *sig;
    ZT_TRY(sign(a, c, alg, input, &sig));
    *out = zt_arena_secret_printf(a, "%s.%s", input, sig);
    return ZT_OK;
}
