/* zt_addrplan.c - see zt_addrplan.h. */
#include "zt_addrplan.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------
 * Azure's rules, as data.
 * ------------------------------------------------------------------- */

/* Subnets whose names carry rules. Azure-reserved names must be spelled
 * exactly; the others are the names our layouts use for services with
 * their own sizing rules. Prefix lengths: max_len = smallest subnet
 * allowed, min_len = largest allowed (0: no limit), recommended_len =
 * warn when smaller (0: none). */
typedef struct zt_subnet_rule {
    const char *name;
    bool azure_reserved;
    bool hub_only; /* belongs in the hub of a hub-and-spoke network */
    unsigned max_len, min_len, recommended_len;
    const char *why;
} zt_subnet_rule;

static const zt_subnet_rule zt_subnet_rules[] = {
    {"AzureFirewallSubnet", true, true, 26, 0, 0,
     "Azure Firewall requires a subnet named AzureFirewallSubnet of /26 or larger."},
    {"AzureFirewallManagementSubnet", true, true, 26, 0, 0,
     "The firewall's management NIC (needed for forced tunnelling) requires a subnet named "
     "AzureFirewallManagementSubnet of /26 or larger."},
    {"AzureBastionSubnet", true, true, 26, 0, 0,
     "Azure Bastion requires a subnet named AzureBastionSubnet of /26 or larger."},
    {"GatewaySubnet", true, true, 29, 0, 27,
     "Virtual network gateways need a subnet named GatewaySubnet; Microsoft recommends /27 or "
     "larger so that VPN and ExpressRoute gateways can coexist and be resized."},
    {"RouteServerSubnet", true, true, 27, 0, 0,
     "Azure Route Server requires a subnet named RouteServerSubnet of /27 or larger."},
    {"dns-resolver-inbound", false, false, 28, 24, 0,
     "DNS Private Resolver endpoints need a dedicated subnet delegated to "
     "Microsoft.Network/dnsResolvers, between /28 and /24."},
    {"dns-resolver-outbound", false, false, 28, 24, 0,
     "DNS Private Resolver endpoints need a dedicated subnet delegated to "
     "Microsoft.Network/dnsResolvers, between /28 and /24."},
    {"databricks-host", false, false, 26, 0, 0,
     "Azure Databricks VNet injection needs host and container subnets of /26 or larger."},
    {"databricks-container", false, false, 26, 0, 0,
     "Azure Databricks VNet injection needs host and container subnets of /26 or larger."},
};

/* Azure's smallest subnet: 8 addresses, 3 usable after the 5 reserved. */
#define ZT_AZURE_MAX_LEN 29
#define ZT_AZURE_RESERVED 5

/* A layout subnet's prefix length: `fixed` if non-zero, else
 * max(space_len + newbits, floor_len) so it scales with the VNet. */
typedef struct zt_layout_subnet {
    const char *name;
    unsigned fixed;
    unsigned newbits, floor_len;
} zt_layout_subnet;

/* Hub (platform-design.md): firewall, its management NIC, Bastion, the VPN
 * gateway and the DNS resolver endpoints: 256 addresses, so a /24 is the
 * smallest hub and the default /22 leaves room to grow. */
static const zt_layout_subnet zt_hub_layout[] = {
    {"AzureFirewallSubnet", 26, 0, 0},   {"AzureFirewallManagementSubnet", 26, 0, 0},
    {"AzureBastionSubnet", 26, 0, 0},    {"GatewaySubnet", 27, 0, 0},
    {"dns-resolver-inbound", 28, 0, 0},  {"dns-resolver-outbound", 28, 0, 0},
};

/* Spoke: Databricks host and container get a quarter of the VNet each
 * (the cluster size limit), private endpoints an eighth but never more
 * than a /24, Functions VNet integration the recommended /26. Fits every
 * VNet from /16 to /24 with at least an eighth left over. */
static const zt_layout_subnet zt_spoke_layout[] = {
    {"databricks-host", 0, 2, 0},
    {"databricks-container", 0, 2, 0},
    {"private-endpoints", 0, 3, 24},
    {"functions", 26, 0, 0},
};
#define ZT_SPOKE_MIN_LEN 16 /* Databricks VNet injection: /16 .. /24 */
#define ZT_SPOKE_MAX_LEN 24
#define ZT_HUB_MAX_LEN 24 /* even with every hub subnet at its minimum */

/* Ranges Azure does not allow in a VNet address space. */
static const struct {
    uint32_t addr;
    unsigned len;
    const char *what;
} zt_azure_forbidden[] = {
    {0xE0000000u, 4, "multicast"},
    {0xFFFFFFFFu, 32, "broadcast"},
    {0x7F000000u, 8, "loopback"},
    {0xA9FE0000u, 16, "link-local"},
    {0xA83F8110u, 32, "Azure's virtual public IP 168.63.129.16"},
};

/* Private ranges (RFC 1918 and the RFC 6598 shared space). */
static const struct {
    uint32_t addr;
    unsigned len;
} zt_private_ranges[] = {
    {0x0A000000u, 8}, {0xAC100000u, 12}, {0xC0A80000u, 16}, {0x64400000u, 10},
};

/* ---------------------------------------------------------------------
 * IPv4 helpers.
 * ------------------------------------------------------------------- */

static uint32_t mask_of(unsigned len) { return len == 0 ? 0 : 0xFFFFFFFFu << (32 - len); }

static bool prefix_contains(zt_ipv4_prefix outer, zt_ipv4_prefix inner)
{
    return inner.len >= outer.len && (inner.addr & mask_of(outer.len)) == outer.addr;
}

static bool prefix_overlaps(zt_ipv4_prefix x, zt_ipv4_prefix y)
{
    return prefix_contains(x, y) || prefix_contains(y, x);
}

static bool parse_decimal(const char **pp, unsigned max, unsigned *out)
{
    const char *p = *pp;
    if (!isdigit((unsigned char)*p))
        return false;
    /* Leading zeros are ambiguous (some parsers read them as octal). */
    if (p[0] == '0' && isdigit((unsigned char)p[1]))
        return false;
    unsigned v = 0;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > max)
            return false;
        p++;
    }
    *out = v;
    *pp = p;
    return true;
}

zt_rc zt_ipv4_parse_cidr(zt_arena *a, const char *text, zt_ipv4_prefix *out, bool *host_bits,
                         const char **why)
{
    *host_bits = false;
    *why = NULL;
    const char *p = text;
    uint32_t addr = 0;
    for (int i = 0; i < 4; i++) {
        unsigned octet;
        if (!parse_decimal(&p, 255, &octet)) {
            *why = "each of the four address parts must be a number from 0 to 255";
            return ZT_ERR_INVALID;
        }
        addr = addr << 8 | octet;
        if (i < 3 && *p++ != '.') {
            *why = "the address must have four dot-separated parts";
            return ZT_ERR_INVALID;
        }
    }
    unsigned len;
    if (*p++ != '/' || !parse_decimal(&p, 32, &len) || *p != '\0') {
        *why = "the address must be followed by /prefix-length (0 to 32)";
        return ZT_ERR_INVALID;
    }
    out->addr = addr & mask_of(len);
    out->len = len;
    if (out->addr != addr) {
        *host_bits = true;
        *why = zt_arena_printf(a, "host bits are set; the network address is %s",
                               zt_ipv4_prefix_str(a, *out));
        return ZT_ERR_INVALID;
    }
    return ZT_OK;
}

const char *zt_ipv4_addr_str(zt_arena *a, uint32_t x)
{
    return zt_arena_printf(a, "%u.%u.%u.%u", x >> 24, (x >> 16) & 255, (x >> 8) & 255, x & 255);
}

const char *zt_ipv4_prefix_str(zt_arena *a, zt_ipv4_prefix p)
{
    return zt_arena_printf(a, "%s/%u", zt_ipv4_addr_str(a, p.addr), p.len);
}

/* ---------------------------------------------------------------------
 * The planning context.
 * ------------------------------------------------------------------- */

typedef enum zt_layout { ZT_LAYOUT_NONE = 0, ZT_LAYOUT_HUB, ZT_LAYOUT_SPOKE } zt_layout;

/* One subnet to place: from the layout, from the request, or both (a
 * request entry that overrides a layout subnet's size). */
typedef struct zt_entry {
    const char *name;              /* NULL: unknown */
    const zt_addrplan_want *want;  /* NULL: layout default */
    const zt_path *size_path;      /* where size problems point */
    const char *size_setting;      /* "prefix_length", "newbits", "cidr" or NULL */
    bool size_known;
    bool fixed;                    /* explicit cidr: prefix.addr is set */
    zt_ipv4_prefix prefix;         /* len always; addr when fixed or placed */
    size_t order;
    bool placed;
} zt_entry;

typedef struct zt_plan_ctx {
    zt_arena *a;
    zt_diags *d;
    const zt_addrplan_request *req;
    bool space_known;
    zt_ipv4_prefix space;
    bool layout_known;
    zt_layout layout;
    zt_entry *entries;
    size_t n_entries;
    bool all_known;
    size_t errors_before;
} zt_plan_ctx;

static bool ctx_failed(const zt_plan_ctx *c) { return c->d->errors > c->errors_before; }

static const zt_path *field_path(zt_plan_ctx *c, const zt_addrplan_want *w, const char *field)
{
    return w && w->path ? zt_path_attr(c->a, w->path, field) : NULL;
}

/* "subnet \"web\"" or "a subnet" when the name is not known. */
static const char *subnet_label(zt_plan_ctx *c, const char *name)
{
    return name ? zt_arena_printf(c->a, "subnet \"%s\"", name) : "a subnet";
}

static const zt_subnet_rule *rule_for(const char *name)
{
    for (size_t i = 0; name && i < ZT_ARRAY_LEN(zt_subnet_rules); i++)
        if (strcmp(zt_subnet_rules[i].name, name) == 0)
            return &zt_subnet_rules[i];
    return NULL;
}

/* A reserved Azure name spelled with different case. */
static const zt_subnet_rule *misspelled_reserved(const char *name)
{
    for (size_t i = 0; name && i < ZT_ARRAY_LEN(zt_subnet_rules); i++) {
        const zt_subnet_rule *r = &zt_subnet_rules[i];
        if (r->azure_reserved && strcasecmp(r->name, name) == 0 && strcmp(r->name, name) != 0)
            return r;
    }
    return NULL;
}

/* ---------------------------------------------------------------------
 * Address space and layout.
 * ------------------------------------------------------------------- */

static void check_space_ranges(zt_plan_ctx *c, const char *text)
{
    const zt_path *p = c->req->address_space_path;
    if (c->space.len > ZT_AZURE_MAX_LEN)
        zt_diag_error(c->d, p, "Address space too small",
                      "%s cannot hold a subnet: Azure's smallest subnet is a /29 (8 addresses, "
                      "3 usable).", text);
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_azure_forbidden); i++) {
        zt_ipv4_prefix f = {zt_azure_forbidden[i].addr, zt_azure_forbidden[i].len};
        if (prefix_overlaps(c->space, f))
            zt_diag_error(c->d, p, "Address space not allowed by Azure",
                          "%s overlaps %s (%s), which Azure does not allow in a virtual "
                          "network.", text, zt_ipv4_prefix_str(c->a, f), zt_azure_forbidden[i].what);
    }
    bool private_space = false;
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_private_ranges); i++) {
        zt_ipv4_prefix r = {zt_private_ranges[i].addr, zt_private_ranges[i].len};
        private_space |= prefix_contains(r, c->space);
    }
    if (!private_space)
        zt_diag_warning(c->d, p, "Public address space",
                        "%s is not inside a private range (10.0.0.0/8, 172.16.0.0/12, "
                        "192.168.0.0/16 or 100.64.0.0/10). Azure accepts it, but those "
                        "addresses then become unreachable on the internet from this network.",
                        text);
}

static void check_space(zt_plan_ctx *c)
{
    const zt_addrplan_request *r = c->req;
    const zt_path *p = r->address_space_path;
    if (r->address_space_unknown)
        return;
    if (!r->address_space) {
        zt_diag_error(c->d, p, "Missing address space",
                      "An IPv4 address space in CIDR notation is required, e.g. 10.0.0.0/22.");
        return;
    }
    bool host_bits;
    const char *why;
    if (zt_ipv4_parse_cidr(c->a, r->address_space, &c->space, &host_bits, &why) != ZT_OK) {
        if (host_bits)
            zt_diag_error(c->d, p, "Address space has host bits set",
                          "\"%s\" is not a network address: bits outside its /%u prefix are set. "
                          "The network address is %s.", r->address_space, c->space.len,
                          zt_ipv4_prefix_str(c->a, c->space));
        else
            zt_diag_error(c->d, p, "Invalid address space",
                          "\"%s\" is not an IPv4 CIDR block (%s), e.g. 10.0.0.0/22.",
                          r->address_space, why);
        return;
    }
    size_t before = c->d->errors;
    check_space_ranges(c, r->address_space);
    c->space_known = c->d->errors == before;
}

static void check_layout(zt_plan_ctx *c)
{
    const zt_addrplan_request *r = c->req;
    if (r->layout_unknown)
        return;
    c->layout_known = true;
    if (!r->layout || !*r->layout)
        c->layout = ZT_LAYOUT_NONE;
    else if (strcmp(r->layout, "hub") == 0)
        c->layout = ZT_LAYOUT_HUB;
    else if (strcmp(r->layout, "spoke") == 0)
        c->layout = ZT_LAYOUT_SPOKE;
    else {
        c->layout_known = false;
        zt_diag_error(c->d, r->layout_path, "Invalid layout",
                      "\"%s\" is not a layout: use \"hub\", \"spoke\", or null for only the "
                      "listed subnets.", r->layout);
        return;
    }
    if (!c->space_known)
        return;
    /* Once the space is known to be wrong for the layout, size checks
     * against it would only repeat the same problem. */
    if (c->layout == ZT_LAYOUT_SPOKE &&
        (c->space.len < ZT_SPOKE_MIN_LEN || c->space.len > ZT_SPOKE_MAX_LEN)) {
        zt_diag_error(c->d, r->address_space_path, "Spoke address space out of range",
                      "A spoke VNet hosts Azure Databricks, which requires a VNet between /16 "
                      "and /24; %s is a /%u.", r->address_space, c->space.len);
        c->space_known = false;
    } else if (c->layout == ZT_LAYOUT_HUB && c->space.len > ZT_HUB_MAX_LEN) {
        zt_diag_error(c->d, r->address_space_path, "Hub address space too small",
                      "The hub's subnets (firewall, firewall management and Bastion /26 each, "
                      "gateway /27, two DNS resolver /28) need 256 addresses, a /24 or larger; "
                      "%s is a /%u. The recommended hub size is a /22.", r->address_space,
                      c->space.len);
        c->space_known = false;
    }
}

/* ---------------------------------------------------------------------
 * Entries: layout defaults, then the request's subnets.
 * ------------------------------------------------------------------- */

static zt_entry *entry_add(zt_plan_ctx *c, size_t cap)
{
    if (!c->entries)
        c->entries = zt_arena_calloc(c->a, cap, sizeof(zt_entry));
    zt_entry *e = &c->entries[c->n_entries];
    e->order = c->n_entries++;
    return e;
}

static void add_layout_entries(zt_plan_ctx *c, size_t cap)
{
    const zt_layout_subnet *ls = NULL;
    size_t n = 0;
    if (c->layout == ZT_LAYOUT_HUB) {
        ls = zt_hub_layout;
        n = ZT_ARRAY_LEN(zt_hub_layout);
    } else if (c->layout == ZT_LAYOUT_SPOKE) {
        ls = zt_spoke_layout;
        n = ZT_ARRAY_LEN(zt_spoke_layout);
    }
    for (size_t i = 0; i < n; i++) {
        zt_entry *e = entry_add(c, cap);
        e->name = ls[i].name;
        e->size_path = c->req->address_space_path;
        if (ls[i].fixed) {
            e->prefix.len = ls[i].fixed;
            e->size_known = true;
        } else if (c->space_known) {
            unsigned len = c->space.len + ls[i].newbits;
            e->prefix.len = len > ls[i].floor_len ? len : ls[i].floor_len;
            e->size_known = true;
        }
    }
}

static zt_entry *find_entry(zt_plan_ctx *c, const char *name, bool ignore_case)
{
    for (size_t i = 0; name && i < c->n_entries; i++) {
        const char *en = c->entries[i].name;
        if (en && (ignore_case ? strcasecmp(en, name) : strcmp(en, name)) == 0)
            return &c->entries[i];
    }
    return NULL;
}

/* Azure subnet names: 1-80 characters, letters, digits, '_', '.', '-';
 * starting with a letter or digit, ending with a letter, digit or '_'. */
static bool valid_subnet_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 80 || !isalnum((unsigned char)s[0]))
        return false;
    if (!isalnum((unsigned char)s[n - 1]) && s[n - 1] != '_')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return false;
    return true;
}

static bool check_name(zt_plan_ctx *c, const zt_addrplan_want *w)
{
    const zt_path *p = field_path(c, w, "name");
    if (!w->name) {
        if (!w->name_unknown)
            zt_diag_error(c->d, p, "Missing subnet name", "Every subnet needs a name.");
        return false;
    }
    if (!valid_subnet_name(w->name)) {
        zt_diag_error(c->d, p, "Invalid subnet name",
                      "\"%s\" is not a valid Azure subnet name: use 1 to 80 letters, digits, "
                      "'_', '.' or '-', starting with a letter or digit and ending with a letter, "
                      "digit or '_'.", w->name);
        return false;
    }
    const zt_subnet_rule *r = misspelled_reserved(w->name);
    if (r) {
        zt_diag_error(c->d, p, "Misspelled reserved subnet name",
                      "\"%s\" differs from Azure's reserved name \"%s\" only in case. Azure "
                      "recognises the exact spelling only: %s", w->name, r->name, r->why);
        return false;
    }
    r = rule_for(w->name);
    if (r && r->hub_only && c->layout_known && c->layout == ZT_LAYOUT_SPOKE) {
        zt_diag_error(c->d, p, "Hub subnet in a spoke",
                      "%s belongs in the hub of a hub-and-spoke network: the firewall, Bastion, "
                      "gateways and route server are shared from the hub, and a spoke with its "
                      "own gateway cannot use the hub's (use_remote_gateways).", w->name);
        return false;
    }
    return true;
}

/* The one size setting of a request entry; returns false if there is
 * none or more than one, or if it is unknown. */
static bool pick_size_setting(zt_plan_ctx *c, const zt_addrplan_want *w, zt_entry *e)
{
    const char *set[3];
    size_t n_set = 0;
    bool unknown = w->prefix_length == ZT_ADDRPLAN_UNKNOWN || w->newbits == ZT_ADDRPLAN_UNKNOWN ||
                   w->cidr_unknown;
    if (w->prefix_length != ZT_ADDRPLAN_UNSET && w->prefix_length != ZT_ADDRPLAN_UNKNOWN)
        set[n_set++] = "prefix_length";
    if (w->newbits != ZT_ADDRPLAN_UNSET && w->newbits != ZT_ADDRPLAN_UNKNOWN)
        set[n_set++] = "newbits";
    if (w->cidr)
        set[n_set++] = "cidr";
    const char *label = subnet_label(c, w->name);
    if (n_set > 1) {
        zt_diag_error(c->d, field_path(c, w, set[1]), "Conflicting subnet size settings",
                      "%s sets both %s and %s; set exactly one of prefix_length, newbits or cidr.",
                      label, set[0], set[1]);
        return false;
    }
    if (n_set == 0) {
        if (!unknown)
            zt_diag_error(c->d, w->path, "Missing subnet size",
                          "%s needs exactly one of prefix_length, newbits or cidr.", label);
        return false;
    }
    if (unknown)
        return false; /* the unknown one may turn out to conflict */
    e->size_setting = set[0];
    e->size_path = field_path(c, w, set[0]);
    return true;
}

static void resolve_cidr(zt_plan_ctx *c, const zt_addrplan_want *w, zt_entry *e)
{
    bool host_bits;
    const char *why;
    zt_ipv4_prefix p;
    if (zt_ipv4_parse_cidr(c->a, w->cidr, &p, &host_bits, &why) != ZT_OK) {
        if (host_bits)
            zt_diag_error(c->d, e->size_path, "Subnet CIDR has host bits set",
                          "\"%s\" (%s) is not a network address: bits outside its /%u prefix "
                          "are set. The network address is %s.", w->cidr,
                          subnet_label(c, w->name), p.len, zt_ipv4_prefix_str(c->a, p));
        else
            zt_diag_error(c->d, e->size_path, "Invalid subnet CIDR",
                          "\"%s\" (%s) is not an IPv4 CIDR block (%s).", w->cidr,
                          subnet_label(c, w->name), why);
        return;
    }
    if (c->space_known && !prefix_contains(c->space, p)) {
        zt_diag_error(c->d, e->size_path, "Subnet outside the address space",
                      "%s (%s) is not inside the address space %s.", w->cidr,
                      subnet_label(c, w->name), zt_ipv4_prefix_str(c->a, c->space));
        return;
    }
    e->fixed = true;
    e->prefix = p;
    e->size_known = true;
}

static void resolve_size(zt_plan_ctx *c, const zt_addrplan_want *w, zt_entry *e)
{
    const char *label = subnet_label(c, w->name);
    if (strcmp(e->size_setting, "cidr") == 0) {
        resolve_cidr(c, w, e);
    } else if (strcmp(e->size_setting, "prefix_length") == 0) {
        if (w->prefix_length < 0 || w->prefix_length > 32) {
            zt_diag_error(c->d, e->size_path, "Invalid prefix length",
                          "%s: %" PRId64 " is not an IPv4 prefix length (0 to 32).", label,
                          w->prefix_length);
            return;
        }
        e->prefix.len = (unsigned)w->prefix_length;
        e->size_known = true;
    } else {
        if (w->newbits < 0 || w->newbits > 32) {
            zt_diag_error(c->d, e->size_path, "Invalid newbits",
                          "%s: newbits must be between 0 and 32, got %" PRId64 ".", label,
                          w->newbits);
            return;
        }
        if (!c->space_known)
            return; /* relative to an address space we do not know */
        if (c->space.len + (unsigned)w->newbits > 32) {
            zt_diag_error(c->d, e->size_path, "Invalid newbits",
                          "%s: /%u plus %" PRId64 " new bits is longer than 32 bits.", label,
                          c->space.len, w->newbits);
            return;
        }
        e->prefix.len = c->space.len + (unsigned)w->newbits;
        e->size_known = true;
    }
}

/* Two request entries naming the same subnet (Azure compares names
 * without regard to case). */
static bool check_duplicate(zt_plan_ctx *c, const zt_addrplan_want *w, size_t idx)
{
    for (size_t j = 0; j < idx; j++) {
        const zt_addrplan_want *o = &c->req->subnets[j];
        if (o->name && strcasecmp(o->name, w->name) == 0) {
            const char *where = o->path ? zt_path_str(c->a, o->path) : "an earlier entry";
            zt_diag_error(c->d, field_path(c, w, "name"), "Duplicate subnet name",
                          "\"%s\" is already used by %s; subnet names must be unique within "
                          "a VNet, regardless of case.", w->name, where);
            return false;
        }
    }
    return true;
}

/* A request entry: a new subnet, or the size of a layout subnet. */
static void add_request_entry(zt_plan_ctx *c, const zt_addrplan_want *w, size_t idx, size_t cap)
{
    bool name_ok = check_name(c, w) && check_duplicate(c, w, idx);
    zt_entry *e = NULL;
    if (name_ok) {
        zt_entry *prev = find_entry(c, w->name, true);
        if (prev && strcmp(prev->name, w->name) != 0) {
            zt_diag_error(c->d, field_path(c, w, "name"), "Subnet name differs in case",
                          "\"%s\" differs from the layout's subnet \"%s\" only in case. Use "
                          "the exact name to change that subnet's size, or another name for a "
                          "new subnet.", w->name, prev->name);
            name_ok = false;
        } else if (prev) {
            e = prev; /* override a layout subnet */
            *e = (zt_entry){.name = prev->name, .order = prev->order};
        }
    }
    if (!e) {
        e = entry_add(c, cap);
        e->name = name_ok ? w->name : NULL;
    }
    e->want = w;
    if (pick_size_setting(c, w, e))
        resolve_size(c, w, e);
    if (!name_ok)
        e->name = NULL;
}

/* ---------------------------------------------------------------------
 * Rules on the whole set of subnets.
 * ------------------------------------------------------------------- */

static void check_entry_size(zt_plan_ctx *c, const zt_entry *e)
{
    unsigned len = e->prefix.len;
    const char *label = subnet_label(c, e->name);
    if (len > ZT_AZURE_MAX_LEN) {
        zt_diag_error(c->d, e->size_path, "Subnet too small",
                      "%s would be a /%u; Azure's smallest subnet is a /29 (8 addresses, 3 "
                      "usable after the 5 Azure reserves).", label, len);
        return;
    }
    if (c->space_known && len < c->space.len) {
        zt_diag_error(c->d, e->size_path, "Subnet larger than the address space",
                      "%s would be a /%u, larger than the address space %s.", label, len,
                      zt_ipv4_prefix_str(c->a, c->space));
        return;
    }
    const zt_subnet_rule *r = rule_for(e->name);
    if (!r)
        return;
    if (len > r->max_len)
        zt_diag_error(c->d, e->size_path, "Subnet too small for its purpose",
                      "%s must be a /%u or larger, not a /%u. %s", label, r->max_len, len, r->why);
    else if (r->min_len && len < r->min_len)
        zt_diag_error(c->d, e->size_path, "Subnet too large for its purpose",
                      "%s must be a /%u or smaller, not a /%u. %s", label, r->min_len, len,
                      r->why);
    else if (r->recommended_len && len > r->recommended_len)
        zt_diag_warning(c->d, e->size_path, "Subnet smaller than recommended",
                        "%s is a /%u. %s", label, len, r->why);
}

/* The firewall's management subnet is only used together with the
 * firewall's own subnet. */
static void check_companions(zt_plan_ctx *c)
{
    bool names_known = !c->req->subnets_unknown;
    for (size_t i = 0; i < c->n_entries; i++)
        names_known &= c->entries[i].name != NULL;
    zt_entry *mgmt = find_entry(c, "AzureFirewallManagementSubnet", false);
    if (mgmt && mgmt->want && names_known && !find_entry(c, "AzureFirewallSubnet", false))
        zt_diag_error(c->d, field_path(c, mgmt->want, "name"),
                      "Firewall management subnet without a firewall subnet",
                      "AzureFirewallManagementSubnet serves an Azure Firewall's management NIC "
                      "and needs AzureFirewallSubnet in the same VNet.");
}

static void check_fixed_overlaps(zt_plan_ctx *c)
{
    for (size_t i = 0; i < c->n_entries; i++) {
        zt_entry *e = &c->entries[i];
        for (size_t j = 0; e->fixed && j < i; j++) {
            zt_entry *o = &c->entries[j];
            if (o->fixed && prefix_overlaps(e->prefix, o->prefix)) {
                zt_diag_error(c->d, e->size_path, "Overlapping subnets",
                              "%s (%s) overlaps %s (%s).", zt_ipv4_prefix_str(c->a, e->prefix),
                              subnet_label(c, e->name), zt_ipv4_prefix_str(c->a, o->prefix),
                              subnet_label(c, o->name));
                break;
            }
        }
    }
}

/* ---------------------------------------------------------------------
 * Allocation.
 * ------------------------------------------------------------------- */

static int cmp_size_then_order(const void *x, const void *y)
{
    const zt_entry *a = *(const zt_entry *const *)x, *b = *(const zt_entry *const *)y;
    if (a->prefix.len != b->prefix.len)
        return a->prefix.len < b->prefix.len ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* The placed entry overlapping [start, start+size), or NULL. */
static const zt_entry *placed_overlap(zt_plan_ctx *c, uint64_t start, uint64_t size)
{
    for (size_t i = 0; i < c->n_entries; i++) {
        const zt_entry *o = &c->entries[i];
        if (!o->placed)
            continue;
        uint64_t os = o->prefix.addr, oe = os + zt_ipv4_prefix_size(o->prefix);
        if (start < oe && os < start + size)
            return o;
    }
    return NULL;
}

/* First fit at the lowest aligned free address. */
static bool place(zt_plan_ctx *c, zt_entry *e)
{
    uint64_t size = zt_ipv4_prefix_size(e->prefix);
    uint64_t start = c->space.addr, end = start + zt_ipv4_prefix_size(c->space);
    while (start + size <= end) {
        const zt_entry *o = placed_overlap(c, start, size);
        if (!o) {
            e->prefix.addr = (uint32_t)start;
            e->placed = true;
            return true;
        }
        uint64_t next = (uint64_t)o->prefix.addr + zt_ipv4_prefix_size(o->prefix);
        start = (next + size - 1) / size * size; /* align up */
    }
    return false;
}

static uint64_t total_requested(const zt_plan_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n_entries; i++)
        sum += zt_ipv4_prefix_size(c->entries[i].prefix);
    return sum;
}

static bool allocate(zt_plan_ctx *c)
{
    zt_entry **order = zt_arena_calloc(c->a, c->n_entries + 1, sizeof(*order));
    size_t n = 0;
    for (size_t i = 0; i < c->n_entries; i++) {
        if (c->entries[i].fixed)
            c->entries[i].placed = true;
        else
            order[n++] = &c->entries[i];
    }
    qsort(order, n, sizeof(*order), cmp_size_then_order);
    for (size_t i = 0; i < n; i++) {
        zt_entry *e = order[i];
        if (place(c, e))
            continue;
        zt_diag_error(c->d, e->want ? e->size_path : c->req->address_space_path,
                      "Subnets do not fit",
                      "%s (/%u, %" PRIu64 " addresses) does not fit in %s after placing the "
                      "subnets before it (explicit CIDRs first, then largest first). The subnets "
                      "need %" PRIu64 " addresses in total; the address space has %" PRIu64 ".",
                      subnet_label(c, e->name), e->prefix.len, zt_ipv4_prefix_size(e->prefix),
                      zt_ipv4_prefix_str(c->a, c->space), total_requested(c),
                      zt_ipv4_prefix_size(c->space));
        return false;
    }
    return true;
}

static int cmp_subnet_addr(const void *x, const void *y)
{
    const zt_addrplan_subnet *a = x, *b = y;
    return a->prefix.addr < b->prefix.addr ? -1 : a->prefix.addr > b->prefix.addr;
}

/* The gaps between subnets as the fewest aligned blocks. */
static void compute_free(zt_plan_ctx *c, zt_addrplan *plan)
{
    zt_ipv4_prefix *blocks = NULL;
    size_t n = 0, cap = 0;
    uint64_t pos = c->space.addr, end = pos + zt_ipv4_prefix_size(c->space);
    for (size_t i = 0; i <= plan->n_subnets; i++) {
        uint64_t gap_end = i < plan->n_subnets ? plan->subnets[i].prefix.addr : end;
        while (pos < gap_end) {
            unsigned len = 32;
            /* grow the block while it stays aligned and inside the gap */
            while (len > 0 && pos % ((uint64_t)1 << (33 - len)) == 0 &&
                   pos + ((uint64_t)1 << (33 - len)) <= gap_end)
                len--;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                blocks = zt_arena_realloc(c->a, blocks, cap * sizeof(*blocks),
                                          ncap * sizeof(*blocks));
                cap = ncap;
            }
            blocks[n++] = (zt_ipv4_prefix){(uint32_t)pos, len};
            pos += (uint64_t)1 << (32 - len);
        }
        if (i < plan->n_subnets)
            pos = gap_end + zt_ipv4_prefix_size(plan->subnets[i].prefix);
    }
    plan->free = blocks;
    plan->n_free = n;
}

static zt_addrplan *build_plan(zt_plan_ctx *c)
{
    zt_addrplan *plan = zt_arena_alloc(c->a, sizeof(*plan));
    zt_addrplan_subnet *subs = zt_arena_calloc(c->a, c->n_entries + 1, sizeof(*subs));
    for (size_t i = 0; i < c->n_entries; i++) {
        const zt_entry *e = &c->entries[i];
        zt_addrplan_subnet *s = &subs[i];
        uint64_t size = zt_ipv4_prefix_size(e->prefix);
        s->name = e->name;
        s->prefix = e->prefix;
        s->cidr = zt_ipv4_prefix_str(c->a, e->prefix);
        s->first_usable = zt_ipv4_addr_str(c->a, e->prefix.addr + 4);
        s->last_usable = zt_ipv4_addr_str(c->a, (uint32_t)(e->prefix.addr + size - 2));
        s->address_count = size;
        s->usable_hosts = size - ZT_AZURE_RESERVED;
    }
    qsort(subs, c->n_entries, sizeof(*subs), cmp_subnet_addr);
    plan->space = c->space;
    plan->subnets = subs;
    plan->n_subnets = c->n_entries;
    compute_free(c, plan);
    return plan;
}

/* ---------------------------------------------------------------------
 * Entry point.
 * ------------------------------------------------------------------- */

zt_rc zt_addrplan_compute(zt_arena *a, const zt_addrplan_request *req, zt_addrplan **out,
                          zt_diags *d)
{
    zt_plan_ctx c = {.a = a, .d = d, .req = req, .errors_before = d->errors};
    *out = NULL;
    check_space(&c);
    check_layout(&c);
    size_t cap = ZT_ARRAY_LEN(zt_hub_layout) + ZT_ARRAY_LEN(zt_spoke_layout) + req->n_subnets;
    if (c.layout_known)
        add_layout_entries(&c, cap);
    for (size_t i = 0; i < req->n_subnets; i++)
        add_request_entry(&c, &req->subnets[i], i, cap);
    c.all_known = c.space_known && c.layout_known && !req->subnets_unknown;
    for (size_t i = 0; i < c.n_entries; i++) {
        if (c.entries[i].size_known)
            check_entry_size(&c, &c.entries[i]);
        c.all_known &= c.entries[i].size_known && c.entries[i].name != NULL;
    }
    check_companions(&c);
    check_fixed_overlaps(&c);
    if (ctx_failed(&c))
        return ZT_ERR_INVALID;
    if (!c.all_known)
        return ZT_OK;
    if (c.n_entries == 0)
        return zt_diag_error(d, req->layout_path, "No subnets",
                             "Choose a layout (\"hub\" or \"spoke\") or list the subnets wanted.");
    if (!allocate(&c))
        return ZT_ERR_INVALID;
    *out = build_plan(&c);
    return ZT_OK;
}
