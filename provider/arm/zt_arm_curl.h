/* zt_arm_curl.h - libcurl, loaded when the first HTTP client is made.
 *
 * Terraform starts a provider process for every schema fetch, validate and
 * plan, and most of them never talk to Azure. Linking libcurl would load
 * its ~30 shared objects (TLS, LDAP, SSH, IDN...) into every one of them:
 * about a quarter of start-up time and 2-3 MB of memory. So the ARM client
 * reaches libcurl through this table, filled by dlopen("libcurl.so.4").
 * Files that include this header call curl_* as usual; the macros below
 * route the calls through the table.
 */
#ifndef ZT_ARM_CURL_H
#define ZT_ARM_CURL_H

#define CURL_DISABLE_TYPECHECK /* the checks are macros that would hide ours */
#include <curl/curl.h>

#include "zt_arm_curl_api.h"
#include "zt_common.h"

/* Load libcurl and call curl_global_init, once per process (thread-safe).
 * On failure *why says what is missing. */
zt_rc zt_curl_load(const char **why);

/* curl.h defines some of these names as function-like macros of themselves. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#undef curl_share_setopt

#define curl_global_init zt_curl.global_init
#define curl_version_info zt_curl.version_info
#define curl_easy_init zt_curl.easy_init
#define curl_easy_setopt zt_curl.easy_setopt
#define curl_easy_getinfo zt_curl.easy_getinfo
#define curl_easy_reset zt_curl.easy_reset
#define curl_easy_cleanup zt_curl.easy_cleanup
#define curl_easy_strerror zt_curl.easy_strerror
#define curl_multi_init zt_curl.multi_init
#define curl_multi_setopt zt_curl.multi_setopt
#define curl_multi_add_handle zt_curl.multi_add_handle
#define curl_multi_remove_handle zt_curl.multi_remove_handle
#define curl_multi_perform zt_curl.multi_perform
#define curl_multi_poll zt_curl.multi_poll
#define curl_multi_wakeup zt_curl.multi_wakeup
#define curl_multi_info_read zt_curl.multi_info_read
#define curl_multi_cleanup zt_curl.multi_cleanup
#define curl_multi_strerror zt_curl.multi_strerror
#define curl_share_init zt_curl.share_init
#define curl_share_setopt zt_curl.share_setopt
#define curl_share_cleanup zt_curl.share_cleanup
#define curl_slist_append zt_curl.slist_append
#define curl_slist_free_all zt_curl.slist_free_all

#endif
