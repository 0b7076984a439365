/* zt_test_emulator.c - see zt_test_emulator.h. */
#include "zt_test_emulator.h"

#include <check.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *zt_test_emulator_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) {
        fprintf(stderr, "emulator.json has no \"%s\"\n", key);
        exit(EXIT_FAILURE);
    }
    return json_string_value(v);
}

void zt_test_emulator_load(zt_test_emulator *e)
{
    const char *p = getenv("ZT_EMULATOR_JSON");
    if (!p) {
        fprintf(stderr, "ZT_EMULATOR_JSON is not set: run through tests/arm/run_with_emulator.py\n");
        exit(77);
    }
    e->info = json_load_file(p, 0, NULL);
    if (!e->info) {
        fprintf(stderr, "cannot read %s\n", p);
        exit(EXIT_FAILURE);
    }
    e->url = zt_test_emulator_str(e->info, "url");
    e->ca = zt_test_emulator_str(e->info, "ca_path");
    e->tenant = zt_test_emulator_str(e->info, "tenant_id");
    e->sub = zt_test_emulator_str(e->info, "subscription_id");
    e->client = zt_test_emulator_str(e->info, "client_id");
    e->secret = zt_test_emulator_str(e->info, "client_secret");
}

typedef struct body_buf {
    char *data;
    size_t len;
} body_buf;

static size_t body_write(char *p, size_t size, size_t n, void *arg)
{
    body_buf *b = arg;
    char *grown = realloc(b->data, b->len + size * n + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, p, size * n);
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

json_t *zt_test_emulator_ctl(const zt_test_emulator *e, const char *method, const char *path,
                             const char *body)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s/__emulator%s", e->url, path);
    CURL *h = curl_easy_init();
    body_buf out = {0};
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, e->ca);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    ck_assert_msg(cc == CURLE_OK && status >= 200 && status < 300, "control %s %s: %s %ld %s",
                  method, path, curl_easy_strerror(cc), status, out.data ? out.data : "");
    json_t *j = out.data && out.len ? json_loads(out.data, 0, NULL) : NULL;
    free(out.data);
    return j;
}

json_t *zt_test_emulator_ctlf(const zt_test_emulator *e, const char *method, const char *path,
                              const char *fmt, ...)
{
    char body[8192] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof(body), fmt, ap);
        va_end(ap);
    }
    return zt_test_emulator_ctl(e, method, path, fmt ? body : NULL);
}
