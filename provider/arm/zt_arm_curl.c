/* zt_arm_curl.c - see zt_arm_curl.h. */
#include "zt_arm_curl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

zt_curl_api zt_curl;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static const char *g_error; /* NULL once loaded */

#ifdef ZT_CURL_STATIC
static bool load_library(void)
{
    zt_curl = zt_curl_linked;
    return true;
}
#else
static char g_error_buf[512];

typedef struct symbol {
    const char *name;
    void **slot;
} symbol;

#define SYM(field, name) {name, (void **)&zt_curl.field}

static const symbol g_symbols[] = {
    SYM(global_init, "curl_global_init"),
    SYM(version_info, "curl_version_info"),
    SYM(easy_init, "curl_easy_init"),
    SYM(easy_setopt, "curl_easy_setopt"),
    SYM(easy_getinfo, "curl_easy_getinfo"),
    SYM(easy_reset, "curl_easy_reset"),
    SYM(easy_cleanup, "curl_easy_cleanup"),
    SYM(easy_strerror, "curl_easy_strerror"),
    SYM(multi_init, "curl_multi_init"),
    SYM(multi_setopt, "curl_multi_setopt"),
    SYM(multi_add_handle, "curl_multi_add_handle"),
    SYM(multi_remove_handle, "curl_multi_remove_handle"),
    SYM(multi_perform, "curl_multi_perform"),
    SYM(multi_poll, "curl_multi_poll"),
    SYM(multi_wakeup, "curl_multi_wakeup"),
    SYM(multi_info_read, "curl_multi_info_read"),
    SYM(multi_cleanup, "curl_multi_cleanup"),
    SYM(multi_strerror, "curl_multi_strerror"),
    SYM(share_init, "curl_share_init"),
    SYM(share_setopt, "curl_share_setopt"),
    SYM(share_cleanup, "curl_share_cleanup"),
    SYM(slist_append, "curl_slist_append"),
    SYM(slist_free_all, "curl_slist_free_all"),
};

static bool load_library(void)
{
    /* The SONAME of libcurl 7.x and 8.x (Debian package libcurl4). */
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(g_error_buf, sizeof(g_error_buf),
                 "cannot load libcurl (install the libcurl4 package): %s", dlerror());
        g_error = g_error_buf;
        return false;
    }
    for (size_t i = 0; i < ZT_ARRAY_LEN(g_symbols); i++) {
        *g_symbols[i].slot = dlsym(lib, g_symbols[i].name);
        if (!*g_symbols[i].slot) {
            snprintf(g_error_buf, sizeof(g_error_buf), "libcurl lacks %s (libcurl >= 7.84 needed)",
                     g_symbols[i].name);
            g_error = g_error_buf;
            return false;
        }
    }
    return true;
}
#endif

static void load_once(void)
{
    if (!load_library())
        return;
    if (zt_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        g_error = "curl_global_init failed";
        return;
    }
    g_error = NULL;
}

zt_rc zt_curl_load(const char **why)
{
    pthread_once(&g_once, load_once);
    if (g_error && why)
        *why = g_error;
    return g_error ? ZT_ERR_UNSUPPORTED : ZT_OK;
}
