/* Unit tests for the address planner: the core (hand-computed hub and
 * spoke layouts, explicit subnets, every error), the data source
 * zerotrust_address_plan and the function cidr_layout. */
#include "zt_addrplan.h"
#include "zt_provider.h"
#include "zt_test_values.h"

#include "zt_test.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define U ZT_ADDRPLAN_UNSET
#define UNK ZT_ADDRPLAN_UNKNOWN

typedef struct want {
    const char *name;
    int64_t prefix_length, newbits;
    const char *cidr;
} want;

static zt_arena *A;
static zt_diags D;

static void setup(void)
{
    A = zt_arena_new();
    zt_diags_init(&D, A);
}

static void teardown(void) { zt_arena_free(A); }

/* A request as the Terraform glue builds it: paths address_space,
 * layout, subnets[i]. */
static zt_addrplan_request request(const char *space, const char *layout, size_t n,
                                   const want *ws)
{
    zt_addrplan_request r = {
        .address_space = space,
        .layout = layout,
        .address_space_path = zt_path_attr(A, NULL, "address_space"),
        .layout_path = zt_path_attr(A, NULL, "layout"),
    };
    zt_addrplan_want *w = zt_arena_calloc(A, n + 1, sizeof(*w));
    for (size_t i = 0; i < n; i++) {
        w[i].name = ws[i].name;
        w[i].prefix_length = ws[i].prefix_length;
        w[i].newbits = ws[i].newbits;
        w[i].cidr = ws[i].cidr;
        w[i].path = zt_path_index(A, zt_path_attr(A, NULL, "subnets"), (int64_t)i);
    }
    r.subnets = w;
    r.n_subnets = n;
    return r;
}

static zt_addrplan *plan_ok(const zt_addrplan_request *r)
{
    zt_addrplan *p = NULL;
    zt_rc rc = zt_addrplan_compute(A, r, &p, &D);
    ck_assert_msg(rc == ZT_OK && D.errors == 0, "unexpected error: %s: %s",
                  D.head ? D.head->summary : "-", D.head ? D.head->detail : "-");
    ck_assert_ptr_nonnull(p);
    return p;
}

static void plan_fails(const zt_addrplan_request *r)
{
    zt_addrplan *p = (zt_addrplan *)1;
    ck_assert_int_eq(zt_addrplan_compute(A, r, &p, &D), ZT_ERR_INVALID);
    ck_assert_ptr_null(p);
    ck_assert_uint_gt(D.errors, 0);
}

static void expect_subnet(const zt_addrplan *p, size_t i, const char *name, const char *cidr)
{
    ck_assert_uint_gt(p->n_subnets, i);
    ck_assert_str_eq(p->subnets[i].name, name);
    ck_assert_str_eq(p->subnets[i].cidr, cidr);
}

static void expect_free(const zt_addrplan *p, size_t n, const char *const *cidrs)
{
    ck_assert_uint_eq(p->n_free, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(zt_ipv4_prefix_str(A, p->free[i]), cidrs[i]);
}

/* ---- CIDR parsing --------------------------------------------------------- */

START_TEST(test_parse_cidr)
{
    zt_ipv4_prefix p;
    bool hb;
    const char *why;
    ck_assert_int_eq(zt_ipv4_parse_cidr(A, "10.0.0.0/22", &p, &hb, &why), ZT_OK);
    ck_assert_uint_eq(p.addr, 0x0A000000u);
    ck_assert_uint_eq(p.len, 22);
    ck_assert_int_eq(zt_ipv4_parse_cidr(A, "0.0.0.0/0", &p, &hb, &why), ZT_OK);
    ck_assert_int_eq(zt_ipv4_parse_cidr(A, "255.255.255.255/32", &p, &hb, &why), ZT_OK);
    static const char *const bad[] = {"10.0.0/16",  "10.0.0.0",    "10.0.0.256/24", "10.0.0.0/33",
                                      "010.0.0.0/8", "10.0.0.0/08", " 10.0.0.0/8",  "10.0.0.0/8 ",
                                      "",            "a.b.c.d/8",   "10.0.0.0/",    "10..0.0/8"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(bad); i++) {
        ck_assert_msg(zt_ipv4_parse_cidr(A, bad[i], &p, &hb, &why) == ZT_ERR_INVALID, "%s", bad[i]);
        ck_assert(!hb);
        ck_assert_ptr_nonnull(why);
    }
    ck_assert_int_eq(zt_ipv4_parse_cidr(A, "10.1.2.3/16", &p, &hb, &why), ZT_ERR_INVALID);
    ck_assert(hb);
    ck_assert_str_eq(zt_ipv4_prefix_str(A, p), "10.1.0.0/16");
}
END_TEST

/* ---- layouts, hand-computed ------------------------------------------------ */

/* /22 hub: three /26, a /27 and two /28 packed from the bottom (256
 * addresses), the rest free. */
START_TEST(test_hub_layout)
{
    zt_addrplan_request r = request("10.0.0.0/22", "hub", 0, NULL);
    zt_addrplan *p = plan_ok(&r);
    ck_assert_uint_eq(p->n_subnets, 6);
    expect_subnet(p, 0, "AzureFirewallSubnet", "10.0.0.0/26");
    expect_subnet(p, 1, "AzureFirewallManagementSubnet", "10.0.0.64/26");
    expect_subnet(p, 2, "AzureBastionSubnet", "10.0.0.128/26");
    expect_subnet(p, 3, "GatewaySubnet", "10.0.0.192/27");
    expect_subnet(p, 4, "dns-resolver-inbound", "10.0.0.224/28");
    expect_subnet(p, 5, "dns-resolver-outbound", "10.0.0.240/28");
    static const char *const free_cidrs[] = {"10.0.1.0/24", "10.0.2.0/23"};
    expect_free(p, 2, free_cidrs);
    /* Azure reserves .0-.3 and the broadcast address */
    ck_assert_str_eq(p->subnets[0].first_usable, "10.0.0.4");
    ck_assert_str_eq(p->subnets[0].last_usable, "10.0.0.62");
    ck_assert_uint_eq(p->subnets[0].address_count, 64);
    ck_assert_uint_eq(p->subnets[0].usable_hosts, 59);
    ck_assert_str_eq(p->subnets[5].first_usable, "10.0.0.244");
    ck_assert_str_eq(p->subnets[5].last_usable, "10.0.0.254");
    ck_assert_uint_eq(p->subnets[5].usable_hosts, 11);
    ck_assert_uint_eq(D.count, 0);
}
END_TEST

/* A /24 hub is exactly full. */
START_TEST(test_hub_minimum)
{
    zt_addrplan_request r = request("192.168.10.0/24", "hub", 0, NULL);
    zt_addrplan *p = plan_ok(&r);
    expect_subnet(p, 5, "dns-resolver-outbound", "192.168.10.240/28");
    ck_assert_uint_eq(p->n_free, 0);
}
END_TEST

/* /24 spoke: Databricks a quarter each, functions /26, private endpoints
 * an eighth. */
START_TEST(test_spoke_layout_24)
{
    zt_addrplan_request r = request("10.1.0.0/24", "spoke", 0, NULL);
    zt_addrplan *p = plan_ok(&r);
    ck_assert_uint_eq(p->n_subnets, 4);
    expect_subnet(p, 0, "databricks-host", "10.1.0.0/26");
    expect_subnet(p, 1, "databricks-container", "10.1.0.64/26");
    expect_subnet(p, 2, "functions", "10.1.0.128/26");
    expect_subnet(p, 3, "private-endpoints", "10.1.0.192/27");
    static const char *const free_cidrs[] = {"10.1.0.224/27"};
    expect_free(p, 1, free_cidrs);
}
END_TEST

/* /16 spoke: Databricks /18 each, private endpoints capped at /24. */
START_TEST(test_spoke_layout_16)
{
    zt_addrplan_request r = request("10.20.0.0/16", "spoke", 0, NULL);
    zt_addrplan *p = plan_ok(&r);
    expect_subnet(p, 0, "databricks-host", "10.20.0.0/18");
    expect_subnet(p, 1, "databricks-container", "10.20.64.0/18");
    expect_subnet(p, 2, "private-endpoints", "10.20.128.0/24");
    expect_subnet(p, 3, "functions", "10.20.129.0/26");
    ck_assert_uint_eq(p->subnets[0].usable_hosts, 16379);
    static const char *const free_cidrs[] = {"10.20.129.64/26", "10.20.129.128/25",
                                             "10.20.130.0/23",  "10.20.132.0/22",
                                             "10.20.136.0/21",  "10.20.144.0/20",
                                             "10.20.160.0/19",  "10.20.192.0/18"};
    expect_free(p, 8, free_cidrs);
}
END_TEST

/* Explicit CIDRs first, then largest first, ties in request order. */
START_TEST(test_explicit_subnets)
{
    static const want ws[] = {
        {"fixed", U, U, "10.0.0.64/26"},
        {"b", 26, U, NULL},
        {"c", U, 2, NULL},
        {"d", 27, U, NULL},
    };
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 4, ws);
    zt_addrplan *p = plan_ok(&r);
    expect_subnet(p, 0, "b", "10.0.0.0/26");
    expect_subnet(p, 1, "fixed", "10.0.0.64/26");
    expect_subnet(p, 2, "c", "10.0.0.128/26");
    expect_subnet(p, 3, "d", "10.0.0.192/27");
    static const char *const free_cidrs[] = {"10.0.0.224/27"};
    expect_free(p, 1, free_cidrs);
    /* same request, same plan */
    zt_addrplan *q = plan_ok(&r);
    for (size_t i = 0; i < p->n_subnets; i++)
        ck_assert_str_eq(p->subnets[i].cidr, q->subnets[i].cidr);
}
END_TEST

/* A request entry named like a layout subnet resizes it; others add. */
START_TEST(test_layout_override_and_extra)
{
    static const want ws[] = {{"GatewaySubnet", 26, U, NULL}, {"shared", 24, U, NULL}};
    zt_addrplan_request r = request("10.0.0.0/22", "hub", 2, ws);
    zt_addrplan *p = plan_ok(&r);
    ck_assert_uint_eq(p->n_subnets, 7);
    expect_subnet(p, 0, "shared", "10.0.0.0/24");
    expect_subnet(p, 1, "AzureFirewallSubnet", "10.0.1.0/26");
    expect_subnet(p, 4, "GatewaySubnet", "10.0.1.192/26");
    expect_subnet(p, 5, "dns-resolver-inbound", "10.0.2.0/28");
    expect_subnet(p, 6, "dns-resolver-outbound", "10.0.2.16/28");
    static const char *const free_cidrs[] = {"10.0.2.32/27", "10.0.2.64/26", "10.0.2.128/25",
                                             "10.0.3.0/24"};
    expect_free(p, 4, free_cidrs);
}
END_TEST

START_TEST(test_gateway_below_recommendation_warns)
{
    static const want ws[] = {{"GatewaySubnet", 28, U, NULL}};
    zt_addrplan_request r = request("10.0.0.0/22", "hub", 1, ws);
    plan_ok(&r);
    tv_expect_warning(A, &D, "Subnet smaller than recommended", "subnets[0].prefix_length", "/27");
}
END_TEST

START_TEST(test_public_space_warns)
{
    static const want ws[] = {{"web", 26, U, NULL}};
    zt_addrplan_request r = request("20.0.0.0/24", NULL, 1, ws);
    plan_ok(&r);
    tv_expect_warning(A, &D, "Public address space", "address_space", NULL);
}
END_TEST

/* ---- address space and layout errors -------------------------------------- */

START_TEST(test_error_invalid_space_text)
{
    zt_addrplan_request r = request("10.0.0/16", "hub", 0, NULL);
    plan_fails(&r);
    tv_expect_error(A, &D, "Invalid address space", "address_space", "10.0.0/16");
    ck_assert_uint_eq(D.errors, 1);
}
END_TEST

START_TEST(test_error_space_host_bits)
{
    zt_addrplan_request r = request("10.0.1.0/16", "spoke", 0, NULL);
    plan_fails(&r);
    tv_expect_error(A, &D, "Address space has host bits set", "address_space",
                    "The network address is 10.0.0.0/16.");
}
END_TEST

START_TEST(test_error_space_missing)
{
    zt_addrplan_request r = request(NULL, "hub", 0, NULL);
    plan_fails(&r);
    tv_expect_error(A, &D, "Missing address space", "address_space", NULL);
}
END_TEST

START_TEST(test_error_space_too_small_for_azure)
{
    static const want ws[] = {{"a", 30, U, NULL}};
    zt_addrplan_request r = request("10.0.0.0/30", NULL, 1, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Address space too small", "address_space", "/29");
}
END_TEST

START_TEST(test_error_space_forbidden)
{
    static const want ws[] = {{"a", 26, U, NULL}};
    zt_addrplan_request r = request("169.254.0.0/24", NULL, 1, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Address space not allowed by Azure", "address_space", "link-local");
    zt_addrplan_request r2 = request("168.63.128.0/23", NULL, 1, ws);
    plan_fails(&r2);
    tv_expect_error(A, &D, "Address space not allowed by Azure", "address_space", "168.63.129.16");
}
END_TEST

START_TEST(test_error_layout)
{
    zt_addrplan_request r = request("10.0.0.0/22", "hubb", 0, NULL);
    plan_fails(&r);
    tv_expect_error(A, &D, "Invalid layout", "layout", "\"hubb\"");
}
END_TEST

START_TEST(test_error_spoke_range)
{
    zt_addrplan_request r = request("10.0.0.0/25", "spoke", 0, NULL);
    plan_fails(&r);
    tv_expect_error(A, &D, "Spoke address space out of range", "address_space", "/16 and /24");
    ck_assert_uint_eq(D.errors, 1); /* no cascade of per-subnet errors */
    zt_diags_init(&D, A);
    zt_addrplan_request r2 = request("10.0.0.0/15", "spoke", 0, NULL);
    plan_fails(&r2);
    tv_expect_error(A, &D, "Spoke address space out of range", "address_space", "/15");
}
END_TEST

START_TEST(test_error_hub_too_small)
{
    zt_addrplan_request r = request("10.0.0.0/25", "hub", 0, NULL);
    plan_fails(&r);
    tv_expect_error(A, &D, "Hub address space too small", "address_space", "/24");
    ck_assert_uint_eq(D.errors, 1);
}
END_TEST

START_TEST(test_error_no_subnets)
{
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 0, NULL);
    plan_fails(&r);
    tv_expect_error(A, &D, "No subnets", "layout", NULL);
}
END_TEST

/* ---- subnet errors --------------------------------------------------------- */

START_TEST(test_error_subnet_below_azure_minimum)
{
    static const want ws[] = {{"tiny", 30, U, NULL}};
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 1, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Subnet too small", "subnets[0].prefix_length", "/29");
}
END_TEST

START_TEST(test_error_special_minimums)
{
    static const want ws[] = {
        {"AzureBastionSubnet", 27, U, NULL},
        {"AzureFirewallSubnet", U, 5, NULL}, /* /22 + 5 = /27 */
        {"dns-resolver-inbound", 29, U, NULL},
        {"dns-resolver-outbound", 23, U, NULL},
    };
    zt_addrplan_request r = request("10.0.0.0/22", NULL, 4, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Subnet too small for its purpose", "subnets[0].prefix_length",
                    "/26 or larger");
    tv_expect_error(A, &D, "Subnet too small for its purpose", "subnets[1].newbits",
                    "AzureFirewallSubnet");
    tv_expect_error(A, &D, "Subnet too small for its purpose", "subnets[2].prefix_length", "/28");
    tv_expect_error(A, &D, "Subnet too large for its purpose", "subnets[3].prefix_length", "/24");
}
END_TEST

START_TEST(test_error_databricks_minimum)
{
    static const want ws[] = {{"databricks-host", 27, U, NULL}};
    zt_addrplan_request r = request("10.1.0.0/24", "spoke", 1, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Subnet too small for its purpose", "subnets[0].prefix_length",
                    "Databricks");
}
END_TEST

START_TEST(test_error_subnet_larger_than_space)
{
    static const want ws[] = {{"big", 22, U, NULL}};
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 1, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Subnet larger than the address space", "subnets[0].prefix_length",
                    "10.0.0.0/24");
}
END_TEST

START_TEST(test_error_do_not_fit)
{
    static const want ws[] = {{"a", 25, U, NULL}, {"b", 25, U, NULL}, {"c", 26, U, NULL}};
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 3, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Subnets do not fit", "subnets[2].prefix_length",
                    "need 320 addresses in total; the address space has 256");
}
END_TEST

/* Layout subnets that no longer fit point at the address space. */
START_TEST(test_error_layout_does_not_fit)
{
    static const want ws[] = {{"extra", 25, U, NULL}};
    zt_addrplan_request r = request("10.0.0.0/24", "hub", 1, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Subnets do not fit", "address_space", NULL);
}
END_TEST

START_TEST(test_error_duplicate_names)
{
    static const want ws[] = {{"web", 26, U, NULL}, {"WEB", 26, U, NULL}};
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 2, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Duplicate subnet name", "subnets[1].name", "subnets[0]");
}
END_TEST

START_TEST(test_error_overlapping_cidrs)
{
    static const want ws[] = {{"a", U, U, "10.0.0.0/25"}, {"b", U, U, "10.0.0.64/26"}};
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 2, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Overlapping subnets", "subnets[1].cidr", "overlaps 10.0.0.0/25");
}
END_TEST

START_TEST(test_error_cidr_outside_space)
{
    static const want ws[] = {{"a", U, U, "10.0.1.0/26"}};
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 1, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Subnet outside the address space", "subnets[0].cidr", "10.0.0.0/24");
}
END_TEST

START_TEST(test_error_cidr_host_bits_and_syntax)
{
    static const want ws[] = {{"a", U, U, "10.0.0.10/26"}, {"b", U, U, "10.0.0.0/26x"}};
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 2, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Subnet CIDR has host bits set", "subnets[0].cidr",
                    "The network address is 10.0.0.0/26.");
    tv_expect_error(A, &D, "Invalid subnet CIDR", "subnets[1].cidr", NULL);
}
END_TEST

START_TEST(test_error_size_settings)
{
    static const want ws[] = {
        {"both", 26, 2, NULL},
        {"none", U, U, NULL},
        {"wide", 40, U, NULL},
        {"deep", U, 9, NULL}, /* /24 + 9 > 32 */
    };
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 4, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Conflicting subnet size settings", "subnets[0].newbits",
                    "prefix_length and newbits");
    tv_expect_error(A, &D, "Missing subnet size", "subnets[1]", "\"none\"");
    tv_expect_error(A, &D, "Invalid prefix length", "subnets[2].prefix_length", "40");
    tv_expect_error(A, &D, "Invalid newbits", "subnets[3].newbits", "longer than 32 bits");
}
END_TEST

START_TEST(test_error_names)
{
    static const want ws[] = {
        {"-bad", 28, U, NULL},
        {"gatewaysubnet", 27, U, NULL},
        {NULL, 28, U, NULL},
    };
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 3, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Invalid subnet name", "subnets[0].name", "-bad");
    tv_expect_error(A, &D, "Misspelled reserved subnet name", "subnets[1].name", "GatewaySubnet");
    tv_expect_error(A, &D, "Missing subnet name", "subnets[2].name", NULL);
}
END_TEST

START_TEST(test_error_hub_subnet_in_spoke)
{
    static const want ws[] = {{"GatewaySubnet", 27, U, NULL}};
    zt_addrplan_request r = request("10.1.0.0/23", "spoke", 1, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Hub subnet in a spoke", "subnets[0].name", "GatewaySubnet");
}
END_TEST

START_TEST(test_error_layout_name_case)
{
    static const want ws[] = {{"Databricks-Host", 25, U, NULL}};
    zt_addrplan_request r = request("10.1.0.0/22", "spoke", 1, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Subnet name differs in case", "subnets[0].name", "databricks-host");
}
END_TEST

START_TEST(test_error_firewall_management_alone)
{
    static const want ws[] = {{"AzureFirewallManagementSubnet", 26, U, NULL}};
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 1, ws);
    plan_fails(&r);
    tv_expect_error(A, &D, "Firewall management subnet without a firewall subnet",
                    "subnets[0].name", "AzureFirewallSubnet");
}
END_TEST

/* ---- unknown values (validation before apply) ----------------------------- */

START_TEST(test_unknown_space_checks_known_parts)
{
    static const want ws[] = {{"ok", 26, U, NULL}, {"tiny", 30, U, NULL}, {"rel", U, 2, NULL}};
    zt_addrplan_request r = request(NULL, NULL, 3, ws);
    r.address_space_unknown = true;
    zt_addrplan *p = NULL;
    ck_assert_int_eq(zt_addrplan_compute(A, &r, &p, &D), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Subnet too small", "subnets[1].prefix_length", NULL);
    ck_assert_uint_eq(D.errors, 1);

    zt_diags_init(&D, A);
    static const want ws2[] = {{"ok", 26, U, NULL}, {"rel", U, 2, NULL}};
    zt_addrplan_request ok = request(NULL, "spoke", 2, ws2);
    ok.address_space_unknown = true;
    ck_assert_int_eq(zt_addrplan_compute(A, &ok, &p, &D), ZT_OK);
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(D.count, 0);
}
END_TEST

START_TEST(test_unknown_fields)
{
    zt_addrplan_want w[2] = {
        /* unknown prefix_length next to a known cidr: no conflict yet */
        {.name = "a", .prefix_length = UNK, .newbits = U, .cidr = "10.0.0.0/26"},
        {.name_unknown = true, .prefix_length = 26, .newbits = U},
    };
    zt_addrplan_request r = request("10.0.0.0/24", NULL, 0, NULL);
    w[0].path = zt_path_index(A, zt_path_attr(A, NULL, "subnets"), 0);
    w[1].path = zt_path_index(A, zt_path_attr(A, NULL, "subnets"), 1);
    r.subnets = w;
    r.n_subnets = 2;
    zt_addrplan *p = NULL;
    ck_assert_int_eq(zt_addrplan_compute(A, &r, &p, &D), ZT_OK);
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(D.count, 0);

    zt_addrplan_request lay = request("10.0.0.0/22", NULL, 0, NULL);
    lay.layout_unknown = true;
    ck_assert_int_eq(zt_addrplan_compute(A, &lay, &p, &D), ZT_OK);
    ck_assert_ptr_null(p);

    zt_addrplan_request list = request("10.0.0.0/22", "hub", 0, NULL);
    list.subnets_unknown = true;
    ck_assert_int_eq(zt_addrplan_compute(A, &list, &p, &D), ZT_OK);
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(D.count, 0);
}
END_TEST

/* ---- the data source ------------------------------------------------------- */

static zt_provider g_provider;

static zt_call call(void) { return (zt_call){.arena = A, .diags = &D, .provider = &g_provider}; }

static const zt_schema *ds_schema(void)
{
    const zt_schema *s = zt_schema_find(ZT_SCHEMA_DATA_SOURCE, "zerotrust_address_plan");
    ck_assert_ptr_nonnull(s);
    return s;
}

static const zt_cty_type *subnet_type(const zt_schema *s)
{
    return s->type->types[zt_cty_type_attr_index(s->type, "subnets")]->elem;
}

static const zt_cty_value *ds_subnet(const zt_schema *s, const char *name, int64_t prefix_length,
                                     const char *cidr)
{
    const zt_cty_type *t = subnet_type(s);
    return tv_object(A, t, "name", zt_cty_string(A, name), "prefix_length",
                     prefix_length ? zt_cty_number_int(A, prefix_length) : zt_cty_null(A, &zt_cty_number_type),
                     "cidr", cidr ? zt_cty_string(A, cidr) : zt_cty_null(A, &zt_cty_string_type),
                     NULL);
}

START_TEST(test_datasource_read_hub)
{
    const zt_schema *s = ds_schema();
    const zt_datasource_def *def = zt_datasource_find("zerotrust_address_plan");
    ck_assert_ptr_nonnull(def);
    const zt_cty_value *sub[] = {ds_subnet(s, "shared", 24, NULL)};
    const zt_cty_value *config =
        tv_object(A, s->type, "address_space", zt_cty_string(A, "10.0.0.0/22"), "layout",
                  zt_cty_string(A, "hub"), "subnets",
                  zt_cty_list(A, subnet_type(s), 1, sub), NULL);
    zt_call c = call();
    ck_assert_int_eq(def->validate(&c, s, config), ZT_OK);
    const zt_cty_value *state = NULL;
    ck_assert_int_eq(def->read(&c, s, config, &state), ZT_OK);
    ck_assert_uint_eq(D.count, 0);
    ck_assert(zt_cty_is_wholly_known(state));
    ck_assert(zt_cty_type_equal(state->type, s->type));
    /* configuration echoed */
    ck_assert_str_eq(zt_cty_get_attr(state, "address_space")->u.str.ptr, "10.0.0.0/22");
    ck_assert(zt_cty_equal(zt_cty_get_attr(state, "subnets"), zt_cty_get_attr(config, "subnets")));
    /* computed */
    const zt_cty_value *cidrs = zt_cty_get_attr(state, "cidrs");
    ck_assert_uint_eq(cidrs->u.coll.n, 7);
    ck_assert_str_eq(zt_cty_map_get(cidrs, "shared")->u.str.ptr, "10.0.0.0/24");
    ck_assert_str_eq(zt_cty_map_get(cidrs, "GatewaySubnet")->u.str.ptr, "10.0.1.192/27");
    const zt_cty_value *allocs = zt_cty_get_attr(state, "allocations");
    ck_assert_uint_eq(allocs->u.coll.n, 7);
    const zt_cty_value *first = allocs->u.coll.elems[0];
    ck_assert_str_eq(zt_cty_get_attr(first, "name")->u.str.ptr, "shared");
    ck_assert_str_eq(zt_cty_get_attr(first, "first_usable")->u.str.ptr, "10.0.0.4");
    ck_assert_str_eq(zt_cty_get_attr(first, "last_usable")->u.str.ptr, "10.0.0.254");
    int64_t n;
    ck_assert(zt_cty_number_to_int64(zt_cty_get_attr(first, "usable_hosts"), &n));
    ck_assert_int_eq(n, 251);
    ck_assert(zt_cty_number_to_int64(zt_cty_get_attr(first, "prefix_length"), &n));
    ck_assert_int_eq(n, 24);
    const zt_cty_value *free_l = zt_cty_get_attr(state, "free_cidrs");
    ck_assert_uint_eq(free_l->u.coll.n, 1);
    ck_assert_str_eq(free_l->u.coll.elems[0]->u.str.ptr, "10.0.2.0/23");
}
END_TEST

START_TEST(test_datasource_validate_errors_and_unknowns)
{
    const zt_schema *s = ds_schema();
    const zt_datasource_def *def = zt_datasource_find("zerotrust_address_plan");
    zt_call c = call();
    /* unknown address space: the known subnet is still checked */
    const zt_cty_value *sub[] = {ds_subnet(s, "AzureBastionSubnet", 28, NULL),
                                 zt_cty_unknown(A, subnet_type(s))};
    const zt_cty_value *config =
        tv_object(A, s->type, "address_space", zt_cty_unknown(A, &zt_cty_string_type), "subnets",
                  zt_cty_list(A, subnet_type(s), 2, sub), NULL);
    ck_assert_int_eq(def->validate(&c, s, config), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Subnet too small for its purpose", "subnets[0].prefix_length", NULL);
    ck_assert_uint_eq(D.errors, 1);

    /* wholly unknown subnets and layout: nothing to complain about */
    zt_diags_init(&D, A);
    const zt_cty_value *cfg2 = tv_object(
        A, s->type, "address_space", zt_cty_string(A, "10.0.0.0/22"), "layout",
        zt_cty_unknown(A, &zt_cty_string_type), "subnets",
        zt_cty_unknown(A, s->type->types[zt_cty_type_attr_index(s->type, "subnets")]), NULL);
    ck_assert_int_eq(def->validate(&c, s, cfg2), ZT_OK);
    ck_assert_uint_eq(D.count, 0);

    /* host bits, at read time */
    const zt_cty_value *cfg3 = tv_object(A, s->type, "address_space",
                                         zt_cty_string(A, "10.0.0.1/22"), "layout",
                                         zt_cty_string(A, "hub"), NULL);
    const zt_cty_value *state = NULL;
    ck_assert_int_ne(def->read(&c, s, cfg3, &state), ZT_OK);
    tv_expect_error(A, &D, "Address space has host bits set", "address_space", "10.0.0.0/22");
}
END_TEST

/* ---- the function ------------------------------------------------------------ */

static zt_rc call_fn(const zt_cty_value *space, const zt_cty_value *layout,
                     const zt_cty_value *subnets, const zt_cty_value **result, const char **err,
                     int64_t *arg)
{
    const zt_function_def *f = zt_function_find("cidr_layout");
    ck_assert_ptr_nonnull(f);
    const zt_cty_value *args[] = {space, layout, subnets};
    zt_call c = call();
    *err = NULL;
    return f->call(&c, 3, args, result, err, arg);
}

/* The dynamic argument as Terraform delivers an HCL tuple of objects with
 * different attribute sets. */
static const zt_cty_value *fn_subnets(void)
{
    const zt_cty_type *t1 = tv_type(A, "[\"object\",{\"name\":\"string\",\"prefix_length\":\"number\"}]");
    const zt_cty_type *t2 = tv_type(A, "[\"object\",{\"name\":\"string\",\"newbits\":\"number\"}]");
    const zt_cty_value *e1 = tv_object(A, t1, "name", zt_cty_string(A, "web"), "prefix_length",
                                       zt_cty_number_int(A, 26), NULL);
    const zt_cty_value *e2 = tv_object(A, t2, "name", zt_cty_string(A, "db"), "newbits",
                                       zt_cty_number_int(A, 3), NULL);
    const zt_cty_type *types[] = {t1, t2};
    const zt_cty_value *elems[] = {e1, e2};
    return zt_cty_tuple(A, zt_cty_type_tuple(A, 2, types), elems);
}

START_TEST(test_function_layouts)
{
    const zt_cty_value *res = NULL;
    const char *err;
    int64_t arg = 99;
    ck_assert_int_eq(call_fn(zt_cty_string(A, "10.1.0.0/24"), zt_cty_string(A, "spoke"),
                             zt_cty_null(A, &zt_cty_dynamic_type), &res, &err, &arg),
                     ZT_OK);
    ck_assert_int_eq(res->type->kind, ZT_CTY_MAP);
    ck_assert_uint_eq(res->u.coll.n, 4);
    ck_assert_str_eq(zt_cty_map_get(res, "databricks-host")->u.str.ptr, "10.1.0.0/26");
    ck_assert_str_eq(zt_cty_map_get(res, "private-endpoints")->u.str.ptr, "10.1.0.192/27");

    /* no layout, subnets by prefix length and newbits (/24 + 3 = /27) */
    ck_assert_int_eq(call_fn(zt_cty_string(A, "172.16.0.0/24"), zt_cty_null(A, &zt_cty_string_type),
                             fn_subnets(), &res, &err, &arg),
                     ZT_OK);
    ck_assert_uint_eq(res->u.coll.n, 2);
    ck_assert_str_eq(zt_cty_map_get(res, "web")->u.str.ptr, "172.16.0.0/26");
    ck_assert_str_eq(zt_cty_map_get(res, "db")->u.str.ptr, "172.16.0.64/27");
}
END_TEST

START_TEST(test_function_errors_name_argument)
{
    const zt_cty_value *res = NULL;
    const char *err;
    int64_t arg;
    const zt_cty_value *no_subnets = zt_cty_null(A, &zt_cty_dynamic_type);
    ck_assert_int_ne(call_fn(zt_cty_string(A, "10.0.0.1/22"), zt_cty_string(A, "hub"), no_subnets,
                             &res, &err, &arg),
                     ZT_OK);
    ck_assert_int_eq(arg, 0);
    ck_assert_msg(strstr(err, "10.0.0.0/22"), "%s", err);

    ck_assert_int_ne(call_fn(zt_cty_string(A, "10.0.0.0/22"), zt_cty_string(A, "mesh"), no_subnets,
                             &res, &err, &arg),
                     ZT_OK);
    ck_assert_int_eq(arg, 1);

    /* a typo inside the dynamic argument */
    const zt_cty_type *t = tv_type(A, "[\"object\",{\"name\":\"string\",\"prefix_len\":\"number\"}]");
    const zt_cty_value *e = tv_object(A, t, "name", zt_cty_string(A, "x"), "prefix_len",
                                      zt_cty_number_int(A, 26), NULL);
    const zt_cty_value *list = zt_cty_list(A, t, 1, &e);
    ck_assert_int_ne(call_fn(zt_cty_string(A, "10.0.0.0/22"), zt_cty_null(A, &zt_cty_string_type),
                             list, &res, &err, &arg),
                     ZT_OK);
    ck_assert_int_eq(arg, 2);
    ck_assert_msg(strstr(err, "subnets[0].prefix_len") && strstr(err, "Unsupported"), "%s", err);

    /* does not fit */
    ck_assert_int_ne(call_fn(zt_cty_string(A, "10.0.0.0/27"), zt_cty_null(A, &zt_cty_string_type),
                             fn_subnets(), &res, &err, &arg),
                     ZT_OK);
    ck_assert_int_eq(arg, 2);
}
END_TEST

START_TEST(test_function_definition)
{
    const zt_function_def *f = zt_function_find("cidr_layout");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->n_params, 3);
    ck_assert_ptr_null(zt_function_find("nope"));
    for (size_t i = 0; i < f->n_params; i++) {
        const zt_cty_type *t = tv_type(A, f->params[i].type_json);
        ck_assert_ptr_nonnull(t);
    }
    ck_assert(zt_cty_type_equal(tv_type(A, f->return_type_json),
                                zt_cty_type_map(A, &zt_cty_string_type)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("addrplan");
    TCase *core = tcase_create("core");
    tcase_add_checked_fixture(core, setup, teardown);
    tcase_add_test(core, test_parse_cidr);
    tcase_add_test(core, test_hub_layout);
    tcase_add_test(core, test_hub_minimum);
    tcase_add_test(core, test_spoke_layout_24);
    tcase_add_test(core, test_spoke_layout_16);
    tcase_add_test(core, test_explicit_subnets);
    tcase_add_test(core, test_layout_override_and_extra);
    tcase_add_test(core, test_gateway_below_recommendation_warns);
    tcase_add_test(core, test_public_space_warns);
    suite_add_tcase(s, core);

    TCase *errors = tcase_create("errors");
    tcase_add_checked_fixture(errors, setup, teardown);
    tcase_add_test(errors, test_error_invalid_space_text);
    tcase_add_test(errors, test_error_space_host_bits);
    tcase_add_test(errors, test_error_space_missing);
    tcase_add_test(errors, test_error_space_too_small_for_azure);
    tcase_add_test(errors, test_error_space_forbidden);
    tcase_add_test(errors, test_error_layout);
    tcase_add_test(errors, test_error_spoke_range);
    tcase_add_test(errors, test_error_hub_too_small);
    tcase_add_test(errors, test_error_no_subnets);
    tcase_add_test(errors, test_error_subnet_below_azure_minimum);
    tcase_add_test(errors, test_error_special_minimums);
    tcase_add_test(errors, test_error_databricks_minimum);
    tcase_add_test(errors, test_error_subnet_larger_than_space);
    tcase_add_test(errors, test_error_do_not_fit);
    tcase_add_test(errors, test_error_layout_does_not_fit);
    tcase_add_test(errors, test_error_duplicate_names);
    tcase_add_test(errors, test_error_overlapping_cidrs);
    tcase_add_test(errors, test_error_cidr_outside_space);
    tcase_add_test(errors, test_error_cidr_host_bits_and_syntax);
    tcase_add_test(errors, test_error_size_settings);
    tcase_add_test(errors, test_error_names);
    tcase_add_test(errors, test_error_hub_subnet_in_spoke);
    tcase_add_test(errors, test_error_layout_name_case);
    tcase_add_test(errors, test_error_firewall_management_alone);
    tcase_add_test(errors, test_unknown_space_checks_known_parts);
    tcase_add_test(errors, test_unknown_fields);
    suite_add_tcase(s, errors);

    TCase *tf = tcase_create("terraform");
    tcase_add_checked_fixture(tf, setup, teardown);
    tcase_add_test(tf, test_datasource_read_hub);
    tcase_add_test(tf, test_datasource_validate_errors_and_unknowns);
    tcase_add_test(tf, test_function_layouts);
    tcase_add_test(tf, test_function_errors_name_argument);
    tcase_add_test(tf, test_function_definition);
    suite_add_tcase(s, tf);

    return zt_test_run(s);
}
