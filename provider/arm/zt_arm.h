/* zt_arm.h - Azure Resource Manager client.
 *
 * Three layers, each usable on its own:
 *
 *   zt_arm_http   one background thread driving a libcurl multi handle:
 *                 every HTTP exchange of the process (ARM, Entra, IMDS)
 *                 goes through it, so connections and TLS sessions are
 *                 reused and many requests run concurrently.
 *   zt_arm_cred   the credential chain chosen by zt_provider_config
 *                 (workload identity federation, managed identity,
 *                 certificate, secret, Azure CLI) behind one token cache.
 *   zt_arm_client ARM semantics on top: api-versions, retries with
 *                 backoff, long-running operations, client-side pacing
 *                 and per-scope write serialization.
 *
 * Threads: every function taking a client, cred or http object is safe to
 * call from any number of threads at once. Results are allocated in the
 * caller's arena, which must not be used by another thread during the call.
 *
 * Time: deadlines are absolute milliseconds on CLOCK_MONOTONIC
 * (zt_arm_now_ms); 0 means "the client's default".
 *
 * Secrets (tokens, assertions, client secrets, keys) are never logged;
 * copies we make are wiped with OPENSSL_cleanse when released.
 */
#ifndef ZT_ARM_H
#define ZT_ARM_H

#include "zt_arena.h"
#include "zt_diag.h"
#include "zt_provider.h"

#include <jansson.h>
#include <stdatomic.h>

/* ------------------------------------------------------------------ */
/* Time                                                               */

int64_t zt_arm_now_ms(void); /* CLOCK_MONOTONIC */
static inline int64_t zt_arm_deadline_in(int64_t ms) { return zt_arm_now_ms() + ms; }
/* Call after raising a cancel flag (a call's, StopProvider's): operations
 * waiting in the client (retry and poll sleeps, the pacer's queues,
 * serialization locks) see it now rather than within a second. */
void zt_arm_cancel_wake(void);

/* ------------------------------------------------------------------ */
/* Errors                                                             */

/* An error as ARM (or Entra) reported it. Strings are never NULL ("" when
 * absent). For a long-running operation that ended Failed/Canceled, status
 * is the HTTP status of the response that reported it. */
typedef struct zt_arm_error {
    long status;              /* HTTP status; 0 for transport failures */
    const char *code;         /* e.g. AnotherOperationInProgress */
    const char *message;
    const char *target;
    const char *request_id;   /* x-ms-request-id (ARM) or trace id (Entra) */
    const char *correlation_id;
    const char *client_request_id; /* the x-ms-client-request-id we sent */
    struct zt_arm_error *details; /* nested details[], same shape */
    size_t n_details;
} zt_arm_error;

/* Parse ARM's {"error":{code,message,target,details[]}} envelope (also the
 * bare {code,message} form and Entra's {error,error_description}). Never
 * fails: an unparsable body becomes code "" and the body text (trimmed) as
 * message. */
zt_arm_error *zt_arm_error_parse(zt_arena *a, long status, const char *body, size_t len);
/* True when code matches e->code or any nested detail's code. */
bool zt_arm_error_has_code(const zt_arm_error *e, const char *code);
/* One-paragraph human form: "409 AnotherOperationInProgress: ... (x-ms-request-id ...)". */
const char *zt_arm_error_str(zt_arena *a, const zt_arm_error *e);

/* ------------------------------------------------------------------ */
/* Clouds                                                             */

typedef struct zt_arm_cloud {
    const char *name;             /* public, usgovernment, china, custom */
    const char *authority_host;   /* https://login.microsoftonline.com */
    const char *resource_manager; /* https://management.azure.com */
    const char *audience;         /* https://management.azure.com/ (MSI, CLI) */
    const char *scope;            /* https://management.azure.com/.default */
} zt_arm_cloud;

/* environment + resource_manager_endpoint / authority_host overrides (and
 * AZURE_AUTHORITY_HOST as set by AKS workload identity). Endpoints must be
 * https. Strings live in a. */
zt_rc zt_arm_cloud_resolve(zt_arena *a, const zt_provider_config *cfg, zt_diags *d,
                           zt_arm_cloud *out);

/* ------------------------------------------------------------------ */
/* Resource IDs, api-versions, serialization scopes                   */

/* "Microsoft.Network/virtualNetworks/subnets" for a subnet ID; handles
 * resource groups, extension resources (the last /providers/ wins),
 * collections and trailing actions. NULL when the path is not an ARM ID. */
const char *zt_arm_resource_type(zt_arena *a, const char *resource_id);
/* The api-version for a resource type (table mirroring azure-specs
 * MANIFEST.md; child types without an entry use their parent's). Case-
 * insensitive. NULL when unknown. */
const char *zt_arm_api_version(const char *resource_type);
/* Row i of that table (false past the end), for the check against the
 * manifest. */
bool zt_arm_api_version_row(size_t i, const char **type, const char **version);
/* Whether the type is tracked (takes tags and a location of its own): the
 * types Azure Policy's Indexed mode evaluates. Unknown types are not. */
bool zt_arm_type_tracked(const char *resource_type);
/* Key for zt_arm_req.serial_scope: writes that Azure refuses to run
 * concurrently share a key (a VNet and its subnets and peerings, a firewall
 * policy and its rule collection groups, a route table and its routes, an
 * NSG and its rules, one identity's federated credentials). NULL when the
 * type needs no serialization. resource_type may be NULL (derived). */
const char *zt_arm_serial_key(zt_arena *a, const char *resource_id, const char *resource_type);

/* ------------------------------------------------------------------ */
/* HTTP transport (the shared multi loop)                             */

typedef struct zt_arm_http zt_arm_http;

typedef struct zt_arm_http_options {
    const char *ca_bundle_path;   /* PEM; added to the system trust store */
    const char *user_agent;       /* NULL: terraform-provider-zerotrust/VERSION */
    long max_host_connections;    /* 0: 32 */
    long connect_timeout_ms;      /* 0: 10 s */
} zt_arm_http_options;

zt_rc zt_arm_http_new(const zt_arm_http_options *o, zt_diags *d, zt_arm_http **out);
/* Aborts transfers still running and joins the loop thread. */
void zt_arm_http_free(zt_arm_http *h);

typedef struct zt_arm_http_req {
    const char *method;           /* GET, PUT, PATCH, DELETE, POST */
    const char *url;
    const char *const *headers;   /* "Name: value" lines */
    size_t n_headers;
    const char *body;             /* may be NULL */
    size_t body_len;
    bool secret_request;          /* headers/body hold secrets: wipe copies */
    bool secret_response;         /* response body holds secrets: wipe copies */
    bool no_proxy;                /* IMDS must never go through a proxy */
    bool fresh_connection;        /* not on a reused connection: curl resends a
                                   * request silently when a reused one dies */
    int64_t deadline_ms;          /* absolute; required */
    int64_t attempt_timeout_ms;   /* 0: until the deadline */
    const atomic_bool *cancel;    /* may be NULL */
} zt_arm_http_req;

typedef struct zt_arm_http_resp {
    zt_rc rc;          /* ZT_OK (any status), ZT_ERR_HTTP, _TLS, _TIMEOUT, _CANCELLED */
    long status;
    char *body;        /* NUL-terminated, in the arena */
    size_t body_len;
    const char **header_names; /* of the final response, in the arena */
    const char **header_values;
    size_t n_headers;
    int curl_code;     /* CURLcode when rc != ZT_OK */
    const char *transport_error;
    bool transient;    /* a transport failure worth retrying */
    bool maybe_sent;   /* the server may have seen the request */
    bool resent;       /* libcurl sent the request more than once (it does so on
                        * its own when a reused connection dies before any
                        * answer), or cannot tell: the answer may not be to
                        * the copy the server acted on */
    int64_t elapsed_ms;
} zt_arm_http_resp;

/* One HTTP exchange; blocks until done, the deadline, or cancel. */
zt_rc zt_arm_http_do(zt_arm_http *h, zt_arena *a, const zt_arm_http_req *req,
                     zt_arm_http_resp *resp);
/* Case-insensitive header lookup; NULL when absent. */
const char *zt_arm_http_header(const zt_arm_http_resp *r, const char *name);

/* Counters since creation: exchanges completed and connections opened
 * (the difference is connection reuse). */
typedef struct zt_arm_http_stats {
    uint64_t requests;
    uint64_t connects;
} zt_arm_http_stats;
zt_arm_http_stats zt_arm_http_get_stats(zt_arm_http *h);

/* ------------------------------------------------------------------ */
/* Credentials                                                        */

typedef enum zt_arm_cred_kind {
    ZT_ARM_CRED_OIDC = 1, /* workload identity federation */
    ZT_ARM_CRED_MSI,      /* managed identity (IMDS / App Service) */
    ZT_ARM_CRED_CERT,     /* client certificate assertion */
    ZT_ARM_CRED_SECRET,   /* client secret */
    ZT_ARM_CRED_CLI       /* az account get-access-token */
} zt_arm_cred_kind;

typedef enum zt_arm_jwt_alg { ZT_ARM_JWT_PS256 = 0, ZT_ARM_JWT_RS256 } zt_arm_jwt_alg;

typedef struct zt_arm_cred_options {
    zt_arm_jwt_alg jwt_alg;     /* certificate assertions; default PS256 */
    const char *az_path;        /* NULL: "az" from PATH */
    int64_t cli_timeout_ms;     /* 0: 30 s */
} zt_arm_cred_options;

typedef struct zt_arm_cred zt_arm_cred;

/* Build the chain from cfg: every method the configuration enables, in the
 * order oidc, msi, certificate, secret, cli. A method enabled but
 * incomplete (use_oidc without a token source, unreadable certificate...)
 * is an error diagnostic; nothing enabled is one too. opts may be NULL. */
zt_rc zt_arm_cred_new(const zt_provider_config *cfg, const zt_arm_cloud *cloud,
                      zt_arm_http *http, const zt_arm_cred_options *opts,
                      zt_diags *d, zt_arm_cred **out);
void zt_arm_cred_free(zt_arm_cred *c);

/* A bearer token for ARM: cached until 5 minutes before it expires (half
 * its lifetime for short tokens); one fetch in flight, concurrent callers
 * wait for it. The copy in a is wiped when a is freed. On failure *err
 * (if given) says what the identity provider answered. A method that is
 * unavailable at run time (no IMDS, no az) passes to the next one. */
zt_rc zt_arm_cred_token(zt_arm_cred *c, zt_arena *a, int64_t deadline_ms,
                        const atomic_bool *cancel, const char **token, zt_arm_error **err);
/* Forget the cached token if it is still `token` (ARM answered 401). */
void zt_arm_cred_invalidate(zt_arm_cred *c, const char *token);
/* Kind of the method that produced the last token (0 before any). */
zt_arm_cred_kind zt_arm_cred_kind_used(const zt_arm_cred *c);
const char *zt_arm_cred_kind_name(zt_arm_cred_kind k);
/* Number of token fetches made (tests and benchmarks). */
unsigned zt_arm_cred_fetches(zt_arm_cred *c);

/* ------------------------------------------------------------------ */
/* ARM client                                                         */

typedef enum zt_arm_method {
    ZT_ARM_GET = 1,
    ZT_ARM_PUT,
    ZT_ARM_PATCH,
    ZT_ARM_DELETE,
    ZT_ARM_POST
} zt_arm_method;

const char *zt_arm_method_name(zt_arm_method m);
/* How long Azure usually takes to update (PUT, PATCH on an existing
 * resource) or to delete (DELETE) a resource of this type, in Azure ms, for
 * zt_arm_req.expected_ms; 0 when unknown or synchronous. Creates take their
 * node's figure (zt_comp_node_def.expected_seconds). The figures are in
 * zt_arm_durations.def, which the ARM emulator reads too. */
int64_t zt_arm_expected_ms(const char *resource_type, zt_arm_method m);

typedef struct zt_arm_client_options {
    const zt_provider_config *config;   /* required */
    const char *terraform_version;      /* for the User-Agent, may be NULL */
    const atomic_bool *cancel;          /* the provider's stop_requested */
    int64_t default_timeout_ms;         /* 0: 30 min */
    int64_t attempt_timeout_ms;         /* per HTTP attempt; 0: 120 s */
    int64_t retry_base_ms;              /* 0: 1 s */
    int64_t retry_cap_ms;               /* 0: 60 s */
    unsigned max_attempts;              /* per request; 0: 12 */
    int64_t poll_interval_ms;           /* LRO poll without Retry-After; 0: 5 s */
    int64_t min_poll_interval_ms;       /* LRO polls never closer; 0: 1 s */
    int64_t max_retry_after_ms;         /* ceiling on a server's Retry-After; 0: 5 min */
    /* Wall seconds per Azure second, for zt_arm_req.expected_ms: an
     * emulator runs Azure's clock faster (tests/emulator). 0: 1. */
    double time_scale;
    bool disable_pacing;                /* no client-side token buckets */
    double pace_scale;                  /* bucket sizes and rates x this; 0: 1 */
    long max_host_connections;          /* 0: 32 */
    zt_arm_cred_options cred;
} zt_arm_client_options;

typedef struct zt_arm_client zt_arm_client;

zt_rc zt_arm_client_new(const zt_arm_client_options *o, zt_diags *d, zt_arm_client **out);
void zt_arm_client_free(zt_arm_client *c);
zt_arm_cred *zt_arm_client_cred(zt_arm_client *c);
zt_arm_http_stats zt_arm_client_stats(zt_arm_client *c);
const zt_arm_cloud *zt_arm_client_cloud(const zt_arm_client *c);

enum {
    ZT_ARM_NO_LRO = 1 << 0,         /* return after the first response */
    ZT_ARM_IDEMPOTENT_POST = 1 << 1 /* this POST may be retried freely */
};

typedef struct zt_arm_req {
    zt_arm_method method;
    /* A resource ID ("/subscriptions/.../vnet1"), optionally with an
     * action or collection suffix, or an absolute URL on the ARM endpoint
     * (a nextLink), used as given. */
    const char *path;
    const char *resource_type;   /* NULL: derived from path */
    const char *api_version;     /* NULL: zt_arm_api_version(type) */
    const char *query;           /* extra "a=b&c=d", already encoded */
    const json_t *body;          /* borrowed */
    const char *serial_scope;    /* writes with the same scope run one at a time */
    const char *if_match;
    const char *if_none_match;
    int64_t deadline_ms;         /* absolute; 0: now + default_timeout_ms */
    /* How long Azure usually takes to carry the write out (Azure's time),
     * 0 if unknown: a long-running operation is first polled near its
     * end rather than every Retry-After from the start. A create's comes
     * from its node, an update's or a delete's from zt_arm_expected_ms. */
    int64_t expected_ms;
    /* Stop (ZT_ERR_CANCELLED) when set: the flag of the RPC the request
     * serves (zt_call_cancel_flag), which StopProvider raises too. NULL:
     * the client's own. */
    const atomic_bool *cancel;
    unsigned flags;
} zt_arm_req;

typedef struct zt_arm_resp {
    long status;                 /* status of the last response received */
    json_t *body;                /* final body (NULL if none); decref'd with the arena */
    const char *request_id;      /* x-ms-request-id of the last response */
    const char *client_request_id;
    const char *provisioning_state; /* last seen, "" if none */
    const char *lro_url;         /* poll URL when the operation was long-running */
    zt_arm_error *error;         /* ARM's error; on TIMEOUT/CANCELLED the last one seen */
    /* A write (not GET) that Azure may have carried out, whatever the last
     * answer says: some attempt was accepted, failed on the server side
     * (5xx but 503), lost its answer after being sent, or was re-sent by
     * libcurl. False only when every attempt was refused before any
     * change (4xx, 503) or never sent. */
    bool maybe_written;
    unsigned attempts;           /* HTTP requests sent, polls included */
    unsigned retries;
    unsigned polls;
    int64_t elapsed_ms;
} zt_arm_resp;

/* Run one ARM operation to its end: send (with retries), follow a long-
 * running operation to a terminal state, and GET the final resource.
 * Returns ZT_OK (2xx; resp->status/body), ZT_ERR_NOTFOUND (404 on GET or
 * DELETE), ZT_ERR_REMOTE (ARM refused or the operation Failed/Canceled;
 * resp->error; 409 RoleAssignmentExists is one of these, check with
 * zt_arm_error_has_code), ZT_ERR_TIMEOUT / ZT_ERR_CANCELLED (with what was
 * known: status, provisioning_state, lro_url, error), ZT_ERR_HTTP /
 * ZT_ERR_TLS (transport), ZT_ERR_INVALID (bad request). */
zt_rc zt_arm_do(zt_arm_client *c, zt_arena *a, const zt_arm_req *req, zt_arm_resp *resp);

/* The same, on a thread of its own: start many, then wait for each. The
 * request (strings, body reference) is copied; resp lives in `a` given to
 * zt_arm_wait. Every started op must be waited for exactly once. */
typedef struct zt_arm_op zt_arm_op;
zt_rc zt_arm_start(zt_arm_client *c, const zt_arm_req *req, zt_arm_op **out);
zt_rc zt_arm_wait(zt_arm_op *op, zt_arena *a, zt_arm_resp *resp);

/* ------------------------------------------------------------------ */
/* Reads served from list reads (zt_arm_list.c)                       */

/* A refresh reads every resource of a large estate: a GET of a resource
 * whose type is in list_reads.json (types whose collection list answers
 * each member with the body its own GET has) is served from one list read
 * of its collection (the ID without its last name: every such resource of
 * a resource group, or every child of one parent; for a child type its
 * parent's body carries whole, list_reads.json "inline", the parent's
 * collection), following nextLink,
 * shared by every caller of the process and kept until this process writes
 * (PUT, PATCH, DELETE, POST) under that collection or its ancestors. A
 * member the complete list does not hold is ZT_ERR_NOTFOUND, as its GET
 * would be. Other types, a list that fails, and ZT_ARM_LIST_READS=0 in the
 * environment take the resource's own GET (zt_arm_do). */
zt_rc zt_arm_get_listed(zt_arm_client *c, zt_arena *a, const zt_arm_req *req,
                        zt_arm_resp *resp);
/* zt_arm_get_listed for one part of a shared resource (part: the part's
 * own ID, "<resource ID>#<items>"): the parts of one resource, read by
 * different nodes of one refresh, are each answered once from the same
 * list read, as the resource itself is. */
zt_rc zt_arm_get_listed_part(zt_arm_client *c, zt_arena *a, const zt_arm_req *req,
                             const char *part, zt_arm_resp *resp);
/* Whether GETs of this type are served from list reads, its own or its
 * parent's (case-insensitive). */
bool zt_arm_list_type(const char *resource_type);
/* Row i of list_reads.json (false past the end). */
bool zt_arm_list_row(size_t i, const char **type);
/* List pages this client has read, for tests and benchmarks. */
unsigned zt_arm_list_pages(zt_arm_client *c);

/* A user-facing error diagnostic for a failed zt_arm_do; returns rc. */
zt_rc zt_arm_diag(zt_diags *d, zt_rc rc, const zt_arm_req *req, const zt_arm_resp *resp,
                  const char *summary);

#endif
