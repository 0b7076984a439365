/* zt_arm_curl_static.c - the libcurl table filled with libcurl's own
 * functions, for builds that link it in (-Dcurl=static, the portable
 * release): this file sees curl.h without zt_arm_curl.h's macros. */
#ifdef ZT_CURL_STATIC
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "zt_arm_curl_api.h"

const zt_curl_api zt_curl_linked = {
    .global_init = curl_global_init,
    .version_info = curl_version_info,
    .easy_init = curl_easy_init,
    .easy_setopt = curl_easy_setopt,
    .easy_getinfo = curl_easy_getinfo,
    .easy_reset = curl_easy_reset,
    .easy_cleanup = curl_easy_cleanup,
    .easy_strerror = curl_easy_strerror,
    .multi_init = curl_multi_init,
    .multi_setopt = curl_multi_setopt,
    .multi_add_handle = curl_multi_add_handle,
    .multi_remove_handle = curl_multi_remove_handle,
    .multi_perform = curl_multi_perform,
    .multi_poll = curl_multi_poll,
    .multi_wakeup = curl_multi_wakeup,
    .multi_info_read = curl_multi_info_read,
    .multi_cleanup = curl_multi_cleanup,
    .multi_strerror = curl_multi_strerror,
    .share_init = curl_share_init,
    .share_setopt = curl_share_setopt,
    .share_cleanup = curl_share_cleanup,
    .slist_append = curl_slist_append,
    .slist_free_all = curl_slist_free_all,
};
#else
typedef int zt_arm_curl_static_unused; /* ISO C: no empty translation unit */
#endif
