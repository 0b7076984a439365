/* zt_tls.h - the plugin's one-shot identity for go-plugin AutoMTLS: a fresh
 * key pair and self-signed certificate per launch, as go-plugin makes them
 * (CN and SAN localhost, CA:TRUE, serverAuth + clientAuth). */
#ifndef ZT_TLS_H
#define ZT_TLS_H

#include "zt_arena.h"

typedef struct zt_tls_identity {
    char *cert_pem;    /* certificate, PEM */
    char *key_pem;     /* private key, PEM; wiped when the arena is freed */
    char *cert_b64;    /* DER, base64 standard alphabet, no '=' padding */
} zt_tls_identity;

zt_rc zt_tls_make_identity(zt_arena *a, zt_tls_identity *out);

/* Base64 (standard alphabet) without padding, as Go's RawStdEncoding. */
char *zt_tls_base64_raw(zt_arena *a, const unsigned char *p, size_t n);

/* True when pem holds at least one parseable X.509 certificate. */
bool zt_tls_pem_has_cert(const char *pem);

#endif
