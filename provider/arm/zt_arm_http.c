/* zt_arm_http.c - one libcurl multi handle driven by one background thread.
 *
 * Callers build an easy handle on their own thread, hand it to the loop
 * (a locked list plus curl_multi_wakeup) and sleep on a condition variable
 * until the loop reports it done. Only the loop thread touches the multi
 * handle and the easy handles while they are in it. A waiter whose
 * deadline passes or whose cancel flag is raised asks the loop to drop its
 * transfer and still waits for the loop to confirm, so the transfer's
 * memory always has exactly one owner.
 *
 * Connections, TLS sessions and the DNS cache live in the multi handle and
 * are shared by every request; HTTP/2 is negotiated where offered and
 * requests are multiplexed onto one connection (PIPEWAIT).
 */
#include "zt_arm_internal.h"
#include "zt_arm_curl.h"
#include "zt_log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (64u * 1024 * 1024)
#define MAX_HEADERS (256u * 1024)
#define WAIT_SLICE_MS 50
#define IDLE_HANDLES 64

typedef struct xfer xfer;

struct zt_arm_http {
    CURLM *multi;
    CURLSH *share;
    pthread_t thread;
    pthread_mutex_t lock;       /* everything below, and each xfer's state */
    pthread_mutex_t share_lock; /* the TLS session cache in `share` */
    bool stop;
    xfer *pending;              /* submitted, not yet in the multi */
    xfer *active;               /* in the multi */
    STACK_OF(X509) *extra_ca;   /* ca_bundle_path, added to each TLS context */
    zt_arm_http_stats stats;
    const char *ca_file;        /* the system CA bundle file, when curl's default is not it */
    bool bundle_only;           /* a CA file is known: skip the CA dir */
    /* curl uses OpenSSL: every connection verifies against one store of
     * ours, made on the first TLS handshake (loop thread only). */
    bool own_store;
    char *ca_dir;               /* a hashed CA directory: certificates read as needed */
    X509_STORE *store;
    char *ca_path_buf;          /* libcurl's default CA file, copied */
    CURL *idle[IDLE_HANDLES];   /* easy handles kept for reuse */
    size_t n_idle;
    char *user_agent;
    long connect_timeout_ms;
};

struct xfer {
    xfer *prev, *next;
    zt_arm_http *h;
    CURL *easy;
    struct curl_slist *headers;
    bool wipe_request, wipe_response;
    char *body;
    size_t body_len;
    /* response, filled by the loop thread */
    char *rbody;
    size_t rlen, rcap;
    char *rhdr;
    size_t hlen, hcap;
    bool too_large;
    /* guarded by h->lock */
    bool done, abort_requested;
    /* requests sent on the loop thread; -1: libcurl cannot count them */
    int sends;
    zt_rc abort_rc;
    CURLcode result;
    pthread_cond_t cond;
    int64_t started_ms;
    char errbuf[CURL_ERROR_SIZE];
};


/* ------------------------------------------------------------------ */
/* Lists                                                              */

static void list_push(xfer **head, xfer *x)
{
    x->prev = NULL;
    x->next = *head;
    if (*head)
        (*head)->prev = x;
    *head = x;
}

static void list_remove(xfer **head, xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        *head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

/* ------------------------------------------------------------------ */
/* Buffers that may hold secrets                                      */

/* Grow by copy so that a buffer holding a token is wiped, not realloc'd
 * away with its contents left in freed memory. */
static bool grow(char **buf, size_t *cap, size_t need, size_t max, bool wipe)
{
    if (need <= *cap)
        return true;
    if (need > max)
        return false;
    size_t ncap = *cap ? *cap : 1024;
    while (ncap < need)
        ncap *= 2;
    char *nb = malloc(ncap);
    if (!nb)
        zt_panic("out of memory (%zu bytes) for an HTTP response", ncap);
    if (*buf) {
        memcpy(nb, *buf, *cap);
        if (wipe)
            OPENSSL_cleanse(*buf, *cap);
        free(*buf);
    }
    *buf = nb;
    *cap = ncap;
    return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;
    if (!grow(&x->rbody, &x->rcap, x->rlen + len + 1, MAX_BODY, x->wipe_response)) {
        x->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    memcpy(x->rbody + x->rlen, p, len);
    x->rlen += len;
    x->rbody[x->rlen] = '\0';
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;
    /* A new status line (after 100 Continue, or a proxy's CONNECT answer):
     * only the final response's headers matter. */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
        x->hlen = 0;
    if (!grow(&x->rhdr, &x->hcap, x->hlen + len + 1, MAX_HEADERS, false)) {
        x->too_large = true;
        return 0;
    }
    memcpy(x->rhdr + x->hlen, p, len);
    x->hlen += len;
    x->rhdr[x->hlen] = '\0';
    return len;
}

/* Right before libcurl sends the request on a connection: a second call
 * means it re-sent the request on its own after a reused connection died
 * (the server may have acted on the first copy). */
static int on_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    xfer *x = arg;
    ZT_UNUSED(primary_ip);
    ZT_UNUSED(local_ip);
    ZT_UNUSED(primary_port);
    ZT_UNUSED(local_port);
    if (x->sends >= 0)
        x->sends++;
    return CURL_PREREQFUNC_OK;
}

/* Every socket libcurl opens is close-on-exec: a child the provider
 * starts (az) inherits no connection of ours. */
static int on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
    ZT_UNUSED(arg);
    ZT_UNUSED(purpose);
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    return CURL_SOCKOPT_OK;
}

/* Keep the handle for the next request: creating one costs several
 * allocations of tens of kilobytes each. */
static void easy_release(zt_arm_http *h, CURL *e)
{
    curl_easy_reset(e);
    pthread_mutex_lock(&h->lock);
    if (h->n_idle < IDLE_HANDLES) {
        h->idle[h->n_idle++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    if (e)
        curl_easy_cleanup(e);
}

static CURL *easy_get(zt_arm_http *h)
{
    CURL *e = NULL;
    pthread_mutex_lock(&h->lock);
    if (h->n_idle)
        e = h->idle[--h->n_idle];
    pthread_mutex_unlock(&h->lock);
    if (!e && !(e = curl_easy_init()))
        zt_panic("out of memory creating a curl handle");
    return e;
}

static void xfer_free(xfer *x)
{
    if (!x)
        return;
    if (x->easy)
        easy_release(x->h, x->easy);
    if (x->headers) {
        if (x->wipe_request)
            for (struct curl_slist *s = x->headers; s; s = s->next)
                OPENSSL_cleanse(s->data, strlen(s->data));
        curl_slist_free_all(x->headers);
    }
    if (x->body) {
        if (x->wipe_request)
            OPENSSL_cleanse(x->body, x->body_len);
        free(x->body);
    }
    if (x->rbody) {
        if (x->wipe_response)
            OPENSSL_cleanse(x->rbody, x->rcap);
        free(x->rbody);
    }
    free(x->rhdr);
    pthread_cond_destroy(&x->cond);
    free(x);
}

/* ------------------------------------------------------------------ */
/* The loop thread                                                    */

static void finish(zt_arm_http *h, xfer *x, CURLcode result)
{
    x->result = result;
    x->done = true;
    pthread_cond_signal(&x->cond);
}

/* With h->lock held: move new transfers in, drop abandoned ones. */
static void admit_and_abort(zt_arm_http *h)
{
    while (h->pending) {
        xfer *x = h->pending;
        list_remove(&h->pending, x);
        if (h->stop || x->abort_requested) {
            finish(h, x, CURLE_ABORTED_BY_CALLBACK);
            continue;
        }
        CURLMcode mc = curl_multi_add_handle(h->multi, x->easy);
        if (mc != CURLM_OK) {
            snprintf(x->errbuf, sizeof(x->errbuf), "curl_multi_add_handle: %s",
                     curl_multi_strerror(mc));
            finish(h, x, CURLE_FAILED_INIT);
            continue;
        }
        list_push(&h->active, x);
    }
    xfer *next;
    for (xfer *x = h->active; x; x = next) {
        next = x->next;
        if (h->stop || x->abort_requested) {
            curl_multi_remove_handle(h->multi, x->easy);
            list_remove(&h->active, x);
            finish(h, x, CURLE_ABORTED_BY_CALLBACK);
        }
    }
}

static void reap(zt_arm_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode result = m->data.result;
        long connects = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_NUM_CONNECTS, &connects);
        curl_multi_remove_handle(h->multi, m->easy_handle);
        pthread_mutex_lock(&h->lock);
        h->stats.requests++;
        h->stats.connects += (uint64_t)connects;
        list_remove(&h->active, x);
        finish(h, x, result);
        pthread_mutex_unlock(&h->lock);
    }
}

static void *loop_main(void *arg)
{
    zt_arm_http *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->lock);
        admit_and_abort(h);
        bool quit = h->stop && !h->active && !h->pending;
        pthread_mutex_unlock(&h->lock);
        if (quit)
            break;
        int running = 0;
        curl_multi_perform(h->multi, &running);
        reap(h);
        /* Sleeps until a socket is ready, curl's next timeout, or a
         * curl_multi_wakeup from a submitter or an aborting waiter. */
        curl_multi_poll(h->multi, NULL, 0, 1000, NULL);
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Setup                                                              */

static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
    zt_arm_http *h = arg;
    X509_STORE *store = SSL_CTX_get_cert_store(ssl_ctx);
    for (int i = 0; i < sk_X509_num(h->extra_ca); i++)
        if (!X509_STORE_add_cert(store, sk_X509_value(h->extra_ca, i)))
            ERR_clear_error(); /* already present: the store may be cached */
    return CURLE_OK;
}

/* The trust store: the system's CAs (from a hashed directory, only the
 * certificates a server's chain names are read; else the whole bundle
 * file, once) and ca_bundle_path's, added. Loading the ~150 certificates
 * of a bundle was most of a short provider process's CPU. */
static X509_STORE *make_store(zt_arm_http *h)
{
    X509_STORE *s = X509_STORE_new();
    if (!s)
        return NULL;
    if (h->ca_dir)
        X509_STORE_load_locations(s, NULL, h->ca_dir);
    else if (h->ca_file)
        X509_STORE_load_locations(s, h->ca_file, NULL);
    else
        X509_STORE_set_default_paths(s);
    for (int i = 0; i < sk_X509_num(h->extra_ca); i++)
        X509_STORE_add_cert(s, sk_X509_value(h->extra_ca, i));
    ERR_clear_error(); /* nothing found or a duplicate: the handshake says what is missing */
    /* as curl sets up its own stores */
    X509_STORE_set_flags(s, X509_V_FLAG_TRUSTED_FIRST | X509_V_FLAG_PARTIAL_CHAIN);
    return s;
}

static CURLcode use_own_store(CURL *curl, void *ssl_ctx, void *arg)
{
    zt_arm_http *h = arg;
    if (!h->store && !(h->store = make_store(h)))
        return CURLE_OUT_OF_MEMORY;
    SSL_CTX_set1_cert_store(ssl_ctx, h->store);
    return CURLE_OK;
}

/* A directory of certificates named by subject hash ("5ad8a5d6.0"), as
 * c_rehash / update-ca-certificates make them: OpenSSL looks up an issuer
 * there by name. */
static bool hashed_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        const char *n = e->d_name;
        size_t i = 0;
        while (i < 8 && isxdigit((unsigned char)n[i]))
            i++;
        found = i == 8 && n[8] == '.' && isdigit((unsigned char)n[9]) && !n[10];
    }
    closedir(d);
    return found;
}

static char *system_ca_dir(void)
{
    const char *dirs[] = {
        getenv("SSL_CERT_DIR"),                         /* as OpenSSL and Go honour it */
        X509_get_default_cert_dir(),                    /* OpenSSL's own */
        "/etc/ssl/certs",                               /* Debian, Ubuntu, Arch, Alpine */
        "/etc/pki/ca-trust/extracted/pem/directory-hash", /* Fedora, RHEL 9 */
        "/var/lib/ca-certificates/openssl",             /* openSUSE */
    };
    for (size_t i = 0; i < ZT_ARRAY_LEN(dirs); i++)
        if (dirs[i] && hashed_dir(dirs[i]))
            return strdup(dirs[i]);
    return NULL;
}

static void share_lock_cb(CURL *c, curl_lock_data d, curl_lock_access a, void *arg)
{
    pthread_mutex_lock(&((zt_arm_http *)arg)->share_lock);
}

static void share_unlock_cb(CURL *c, curl_lock_data d, void *arg)
{
    pthread_mutex_unlock(&((zt_arm_http *)arg)->share_lock);
}

static zt_rc load_ca_bundle(zt_arm_http *h, const char *path, zt_diags *d)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return zt_diag_error(d, zt_path_attr(d->arena, NULL, "ca_bundle_path"),
                             "Cannot read the CA bundle", "%s: %s", path, strerror(errno));
    h->extra_ca = sk_X509_new_null();
    X509 *cert;
    while ((cert = PEM_read_X509(f, NULL, NULL, NULL)))
        sk_X509_push(h->extra_ca, cert);
    ERR_clear_error(); /* the loop ends on a "no start line" error */
    fclose(f);
    if (sk_X509_num(h->extra_ca) == 0)
        return zt_diag_error(d, zt_path_attr(d->arena, NULL, "ca_bundle_path"),
                             "Invalid CA bundle", "%s holds no PEM certificate.", path);
    return ZT_OK;
}

/* libcurl's default CA bundle file, if it has one we can read (a copy in
 * h, freed with it). */
static const char *default_bundle_path(zt_arm_http *h)
{
    CURL *e = curl_easy_init();
    char *ca = NULL;
    if (e && curl_easy_getinfo(e, CURLINFO_CAINFO, &ca) == CURLE_OK && ca && access(ca, R_OK) == 0)
        h->ca_path_buf = strdup(ca);
    curl_easy_cleanup(e);
    return h->ca_path_buf;
}

/* Does this libcurl have a default CA bundle file we can read? */
static bool default_bundle_readable(void)
{
    CURL *e = curl_easy_init();
    char *ca = NULL;
    bool ok = e && curl_easy_getinfo(e, CURLINFO_CAINFO, &ca) == CURLE_OK && ca &&
              access(ca, R_OK) == 0;
    curl_easy_cleanup(e);
    return ok;
}

/* Where distributions keep the system CA bundle (the list Go's crypto/x509
 * searches). A libcurl built into the portable release knows no default:
 * the same binary runs on Debian, RHEL, SUSE and others. */
static const char *const zt_system_ca_files[] = {
    "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Gentoo, Arch */
    "/etc/pki/tls/certs/ca-bundle.crt",                  /* Fedora, RHEL 6 */
    "/etc/ssl/ca-bundle.pem",                            /* openSUSE */
    "/etc/pki/tls/cacert.pem",                           /* OpenELEC */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* CentOS, RHEL 7 */
    "/etc/ssl/cert.pem",                                 /* Alpine */
};

static const char *system_ca_file(void)
{
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_system_ca_files); i++)
        if (access(zt_system_ca_files[i], R_OK) == 0)
            return zt_system_ca_files[i];
    return NULL; /* OpenSSL's default directory, as before */
}

static bool curl_uses_openssl(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v->ssl_version && strncasecmp(v->ssl_version, "OpenSSL", 7) == 0;
}

zt_rc zt_arm_http_new(const zt_arm_http_options *o, zt_diags *d, zt_arm_http **out)
{
    const char *why = NULL;
    if (zt_curl_load(&why) != ZT_OK) {
        zt_diag_error(d, NULL, "HTTP client unavailable", "%s.", why);
        return ZT_ERR_IO;
    }
    zt_arm_http *h = calloc(1, sizeof(*h));
    if (!h)
        zt_panic("out of memory");
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->share_lock, NULL);
    h->connect_timeout_ms = o && o->connect_timeout_ms ? o->connect_timeout_ms : 10000;
    const char *ua = o && o->user_agent ? o->user_agent
                                        : "terraform-provider-zerotrust/" ZT_VERSION;
    h->user_agent = strdup(ua);
    if (o && o->ca_bundle_path && *o->ca_bundle_path) {
        if (!curl_uses_openssl()) {
            zt_diag_error(d, NULL, "Custom CA bundle unsupported",
                          "libcurl is not built with OpenSSL, which ca_bundle_path needs.");
            zt_arm_http_free(h);
            return ZT_ERR_UNSUPPORTED;
        }
        zt_rc rc = load_ca_bundle(h, o->ca_bundle_path, d);
        if (rc != ZT_OK) {
            zt_arm_http_free(h);
            return rc;
        }
    }
    h->bundle_only = default_bundle_readable();
    if (!h->bundle_only) {
        h->ca_file = system_ca_file();
        h->bundle_only = h->ca_file != NULL;
    }
    h->own_store = curl_uses_openssl();
    if (h->own_store) {
        h->ca_dir = system_ca_dir();
        if (!h->ca_file)
            h->ca_file = default_bundle_path(h);
    }
    h->multi = curl_multi_init();
    h->share = curl_share_init();
    if (!h->multi || !h->share)
        zt_panic("out of memory creating a curl multi handle");
    curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock_cb);
    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock_cb);
    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    long per_host = o && o->max_host_connections ? o->max_host_connections : 32;
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, per_host);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, per_host * 2);
    if (pthread_create(&h->thread, NULL, loop_main, h) != 0) {
        zt_diag_error(d, NULL, "HTTP client unavailable", "cannot start the I/O thread.");
        curl_multi_cleanup(h->multi);
        h->multi = NULL;
        zt_arm_http_free(h);
        return ZT_ERR_IO;
    }
    *out = h;
    return ZT_OK;
}

void zt_arm_http_free(zt_arm_http *h)
{
    if (!h)
        return;
    if (h->multi) {
        pthread_mutex_lock(&h->lock);
        h->stop = true;
        pthread_mutex_unlock(&h->lock);
        curl_multi_wakeup(h->multi);
        pthread_join(h->thread, NULL);
        curl_multi_cleanup(h->multi);
    }
    for (size_t i = 0; i < h->n_idle; i++)
        curl_easy_cleanup(h->idle[i]);
    if (h->share)
        curl_share_cleanup(h->share);
    if (h->extra_ca)
        sk_X509_pop_free(h->extra_ca, X509_free);
    X509_STORE_free(h->store);
    free(h->ca_dir);
    free(h->ca_path_buf);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->share_lock);
    free(h->user_agent);
    free(h);
}

/* ------------------------------------------------------------------ */
/* One exchange                                                       */

static void set_method(CURL *e, const char *method, bool has_body)
{
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return;
    }
    /* POSTFIELDS gives every write an exact Content-Length (ARM rejects a
     * POST without one), even when the body is empty. */
    if (strcmp(method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (!has_body && strcmp(method, "DELETE") != 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    }
}

static xfer *xfer_new(zt_arm_http *h, const zt_arm_http_req *req)
{
    xfer *x = calloc(1, sizeof(*x));
    if (!x)
        zt_panic("out of memory");
    x->h = h;
    x->wipe_request = req->secret_request;
    x->wipe_response = req->secret_response;
    zt_arm_cond_init_monotonic(&x->cond);
    x->easy = easy_get(h);
    return x;
}

static void xfer_setup(zt_arm_http *h, xfer *x, const zt_arm_http_req *req)
{
    CURL *e = x->easy;
    int64_t now = zt_arm_now_ms();
    int64_t budget = req->deadline_ms - now;
    if (req->attempt_timeout_ms > 0 && req->attempt_timeout_ms < budget)
        budget = req->attempt_timeout_ms;
    if (budget < 1)
        budget = 1;

    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
    curl_easy_setopt(e, CURLOPT_SHARE, h->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* Location is an LRO URL */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    /* Verification is never turned off; a custom CA is added, not swapped in. */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    /* The system bundle file alone: with a CA directory as well, curl
     * re-reads and parses the whole bundle (~150 certificates, several ms
     * of CPU) for every new connection instead of caching the store. */
    if (h->own_store) {
        /* curl loads nothing (and caches nothing): use_own_store hands
         * every TLS context the one store */
        curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L); /* unknown before 7.87: harmless */
        curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, use_own_store);
        curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, h);
    } else if (h->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    if (!h->own_store && h->bundle_only)
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    if (!h->own_store && h->extra_ca) {
        curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
        curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, h);
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)budget);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(h->connect_timeout_ms < budget ? h->connect_timeout_ms : budget));
    curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    if (curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq) != CURLE_OK) /* < 7.80 */
        x->sends = -1;
    curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
    if (req->no_proxy)
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    if (req->fresh_connection)
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);

    x->headers = curl_slist_append(x->headers, "Expect:"); /* no 100-continue stall */
    for (size_t i = 0; i < req->n_headers; i++)
        x->headers = curl_slist_append(x->headers, req->headers[i]);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);

    set_method(e, req->method, req->body != NULL);
    if (req->body) {
        x->body = malloc(req->body_len + 1);
        if (!x->body)
            zt_panic("out of memory");
        memcpy(x->body, req->body, req->body_len);
        x->body[req->body_len] = '\0';
        x->body_len = req->body_len;
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    }
}

/* Wait for the loop to finish x; ask it to drop x on deadline/cancel. */
static void wait_done(zt_arm_http *h, xfer *x, const zt_arm_http_req *req)
{
    pthread_mutex_lock(&h->lock);
    while (!x->done) {
        int64_t now = zt_arm_now_ms();
        if (!x->abort_requested) {
            zt_rc why = ZT_OK;
            if (zt_arm_cancelled(req->cancel))
                why = ZT_ERR_CANCELLED;
            else if (now >= req->deadline_ms)
                why = ZT_ERR_TIMEOUT;
            if (why != ZT_OK) {
                x->abort_requested = true;
                x->abort_rc = why;
                curl_multi_wakeup(h->multi);
            }
        }
        int64_t until = now + WAIT_SLICE_MS;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (until - now) / 1000;
        ts.tv_nsec += ((until - now) % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&x->cond, &h->lock, &ts);
    }
    pthread_mutex_unlock(&h->lock);
}

/* Split the raw header block into the response's arrays. */
static void parse_headers(zt_arena *a, const xfer *x, zt_arm_http_resp *r)
{
    size_t cap = 0;
    for (size_t i = 0; i < x->hlen; i++)
        cap += x->rhdr[i] == '\n';
    r->header_names = zt_arena_calloc(a, cap + 1, sizeof(char *));
    r->header_values = zt_arena_calloc(a, cap + 1, sizeof(char *));
    const char *p = x->rhdr, *end = x->rhdr + x->hlen;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon && colon > p && r->n_headers < cap + 1) {
            const char *v = colon + 1;
            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = le;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            r->header_names[r->n_headers] = zt_arena_strndup(a, p, (size_t)(colon - p));
            r->header_values[r->n_headers] = zt_arena_strndup(a, v, (size_t)(ve - v));
            r->n_headers++;
        }
        p = nl ? nl + 1 : NULL;
    }
}

static void classify(CURLcode c, zt_arm_http_resp *r)
{
    r->rc = ZT_ERR_HTTP;
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        r->transient = true; /* nothing was sent */
        break;
    case CURLE_SSL_CONNECT_ERROR: /* includes resets during the handshake */
        r->transient = true;
        break;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        r->transient = true;
        r->maybe_sent = true;
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        r->rc = ZT_ERR_TLS;
        break;
    default:
        r->maybe_sent = true;
        break;
    }
}

static void collect(zt_arena *a, xfer *x, const zt_arm_http_req *req, zt_arm_http_resp *r)
{
    r->elapsed_ms = zt_arm_now_ms() - x->started_ms;
    r->resent = x->sends != 0 && x->sends != 1;
    if (x->abort_requested && x->result == CURLE_ABORTED_BY_CALLBACK) {
        r->rc = x->abort_rc != ZT_OK ? x->abort_rc : ZT_ERR_CANCELLED;
        r->maybe_sent = true;
        r->transport_error = r->rc == ZT_ERR_TIMEOUT ? "deadline passed" : "cancelled";
        r->curl_code = CURLE_ABORTED_BY_CALLBACK;
        return;
    }
    if (x->result != CURLE_OK) {
        r->curl_code = (int)x->result;
        classify(x->result, r);
        if (x->too_large)
            r->transport_error = "response too large";
        else
            r->transport_error = zt_arena_strdup(a, x->errbuf[0] ? x->errbuf
                                                               : curl_easy_strerror(x->result));
        /* curl's own timer fired at the deadline: that is our timeout */
        if (x->result == CURLE_OPERATION_TIMEDOUT && zt_arm_now_ms() >= req->deadline_ms) {
            r->rc = ZT_ERR_TIMEOUT;
            r->transient = false;
        }
        if (x->result == CURLE_ABORTED_BY_CALLBACK) { /* stopped by zt_arm_http_free */
            r->rc = ZT_ERR_CANCELLED;
            r->transient = false;
        }
        return;
    }
    r->rc = ZT_OK;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
    parse_headers(a, x, r);
    if (x->rbody) {
        r->body = req->secret_response ? zt_arena_secret_strdup(a, x->rbody)
                                       : zt_arena_memdup(a, x->rbody, x->rlen);
        r->body_len = x->rlen;
    } else {
        r->body = zt_arena_strdup(a, "");
    }
}

zt_rc zt_arm_http_do(zt_arm_http *h, zt_arena *a, const zt_arm_http_req *req,
                     zt_arm_http_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (zt_arm_cancelled(req->cancel))
        return resp->rc = ZT_ERR_CANCELLED;
    if (zt_arm_now_ms() >= req->deadline_ms)
        return resp->rc = ZT_ERR_TIMEOUT;
    xfer *x = xfer_new(h, req);
    xfer_setup(h, x, req);
    x->started_ms = zt_arm_now_ms();

    pthread_mutex_lock(&h->lock);
    bool stopping = h->stop;
    if (!stopping)
        list_push(&h->pending, x);
    pthread_mutex_unlock(&h->lock);
    if (stopping) {
        xfer_free(x);
        return resp->rc = ZT_ERR_CANCELLED;
    }
    curl_multi_wakeup(h->multi);
    wait_done(h, x, req);
    collect(a, x, req, resp);
    xfer_free(x);
    return resp->rc;
}

zt_arm_http_stats zt_arm_http_get_stats(zt_arm_http *h)
{
    pthread_mutex_lock(&h->lock);
    zt_arm_http_stats s = h->stats;
    pthread_mutex_unlock(&h->lock);
    return s;
}

const char *zt_arm_http_header(const zt_arm_http_resp *r, const char *name)
{
    for (size_t i = r->n_headers; i-- > 0;) /* the last one wins */
        if (strcasecmp(r->header_names[i], name) == 0)
            return r->header_values[i];
    return NULL;
}
