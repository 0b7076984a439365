/* zt_addrplan.h - IPv4 address plans for Azure VNets: derive subnet CIDRs
 * from an address space and a list of wanted subnets, and check Azure's
 * sizing rules (reserved subnet names, minimum sizes, Databricks ranges).
 *
 * One implementation serves the data source zerotrust_address_plan, the
 * provider function cidr_layout and the hub/spoke resources. The core
 * (zt_addrplan_compute) knows nothing of cty: callers fill a request,
 * marking what is not known yet, and get diagnostics pointing at the
 * request's paths. The Terraform glue lives in zt_addrplan_tf.c.
 *
 * Allocation is deterministic: subnets with an explicit CIDR are placed
 * first, then the others largest first (ties in request order), each at
 * the lowest free address aligned to its size. Results are in address
 * order. Azure reserves 5 addresses per subnet (network, gateway, two for
 * DNS, broadcast), so the first usable address is network + 4.
 */
#ifndef ZT_ADDRPLAN_H
#define ZT_ADDRPLAN_H

#include "zt_diag.h"

typedef struct zt_ipv4_prefix {
    uint32_t addr; /* host byte order, host bits zero */
    unsigned len;  /* 0..32 */
} zt_ipv4_prefix;

/* Parse "a.b.c.d/n" (decimal octets without leading zeros). On a syntax
 * error returns ZT_ERR_INVALID with a reason in *why. When host bits are
 * set, returns ZT_ERR_INVALID, sets *host_bits and stores the network
 * address in *out so the caller can say what was probably meant. */
zt_rc zt_ipv4_parse_cidr(zt_arena *a, const char *text, zt_ipv4_prefix *out,
                         bool *host_bits, const char **why);
const char *zt_ipv4_addr_str(zt_arena *a, uint32_t addr);
const char *zt_ipv4_prefix_str(zt_arena *a, zt_ipv4_prefix p);
static inline uint64_t zt_ipv4_prefix_size(zt_ipv4_prefix p) { return (uint64_t)1 << (32 - p.len); }

/* Integer settings that are null / not known yet. */
#define ZT_ADDRPLAN_UNSET INT64_MIN
#define ZT_ADDRPLAN_UNKNOWN (INT64_MIN + 1)

/* One wanted subnet: a name and exactly one of prefix_length, newbits
 * (added to the address space's prefix length) or an explicit cidr. An
 * entry whose name matches a layout subnet overrides that subnet's size. */
typedef struct zt_addrplan_want {
    const char *name; /* NULL when null or unknown */
    bool name_unknown;
    int64_t prefix_length; /* or ZT_ADDRPLAN_UNSET / ZT_ADDRPLAN_UNKNOWN */
    int64_t newbits;       /* or ZT_ADDRPLAN_UNSET / ZT_ADDRPLAN_UNKNOWN */
    const char *cidr;      /* NULL when null or unknown */
    bool cidr_unknown;
    const zt_path *path; /* the entry; settings are path.name, path.cidr, ... */
} zt_addrplan_want;

typedef struct zt_addrplan_request {
    const char *address_space; /* IPv4 CIDR; NULL when unknown */
    bool address_space_unknown; /* set with NULL; NULL alone is an error */
    const char *layout;        /* "hub", "spoke", or NULL/"" for none */
    bool layout_unknown;
    const zt_addrplan_want *subnets;
    size_t n_subnets;
    bool subnets_unknown; /* the list itself is unknown */
    /* Where diagnostics point; NULL means the whole block. */
    const zt_path *address_space_path;
    const zt_path *layout_path;
} zt_addrplan_request;

typedef struct zt_addrplan_subnet {
    const char *name;
    zt_ipv4_prefix prefix;
    const char *cidr;
    const char *first_usable; /* network + 4 */
    const char *last_usable;  /* broadcast - 1 */
    uint64_t address_count;
    uint64_t usable_hosts;    /* address_count - 5 */
} zt_addrplan_subnet;

typedef struct zt_addrplan {
    zt_ipv4_prefix space;
    const zt_addrplan_subnet *subnets; /* address order */
    size_t n_subnets;
    const zt_ipv4_prefix *free; /* unallocated space as aligned blocks, address order */
    size_t n_free;
} zt_addrplan;

/* Check the request and, when everything is known and valid, allocate.
 * Returns ZT_OK with *out = NULL when some input is unknown (what is known
 * has been checked), ZT_ERR_INVALID with error diagnostics otherwise.
 * Warnings (e.g. a GatewaySubnet below the recommended /27) may be added
 * on success. */
zt_rc zt_addrplan_compute(zt_arena *a, const zt_addrplan_request *req, zt_addrplan **out,
                          zt_diags *d);

/* The Terraform-facing definitions (zt_addrplan_tf.c), for zt_registry.c. */
struct zt_datasource_def;
struct zt_function_def;
extern const struct zt_datasource_def zt_ds_address_plan;
extern const struct zt_function_def zt_fn_cidr_layout;

#endif
