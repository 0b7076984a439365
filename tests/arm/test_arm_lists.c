/* GETs served from list reads (zt_arm_get_listed) against the local ARM
 * emulator: one list read per collection, its pages followed, shared by
 * concurrent readers; every member answers the body of its own GET, a
 * missing one 404; a member read a second time is read from Azure again;
 * a write by the client drops what it makes stale; a VNet's subnets and
 * peerings are answered from the VNets' list, with the body of their own
 * GETs; the parts of one shared resource share its list read; types
 * outside list_reads.json and ZT_ARM_LIST_READS=0 take their
 * own GETs.
 *
 * Run through tests/arm/run_with_emulator.py (ZT_EMULATOR_JSON). */
#include "zt_arm_internal.h"

#include "zt_test.h"
#include "zt_test_emulator.h"

#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static zt_test_emulator g_emu;

#define ctl0(method, path, ...) json_decref(zt_test_emulator_ctlf(&g_emu, method, path, __VA_ARGS__))

enum { N_NSG = 8 };

static zt_arm_client *client(void)
{
    zt_provider_config cfg = {
        .tenant_id = g_emu.tenant,
        .subscription_id = g_emu.sub,
        .resource_manager_endpoint = g_emu.url,
        .authority_host = g_emu.url,
        .ca_bundle_path = g_emu.ca,
        .client_id = g_emu.client,
        .client_secret = g_emu.secret,
    };
    zt_arm_client_options o = {.config = &cfg, .default_timeout_ms = 60000, .retry_base_ms = 50,
                               .retry_cap_ms = 1000, .poll_interval_ms = 100,
                               .min_poll_interval_ms = 10};
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_arm_client *c = NULL;
    ck_assert_int_eq(zt_arm_client_new(&o, &d, &c), ZT_OK);
    zt_arena_free(a);
    return c;
}

static const char *rg(zt_arena *a)
{
    return zt_arena_printf(a, "/subscriptions/%s/resourceGroups/rg-lists", g_emu.sub);
}

static const char *nsg(zt_arena *a, int i)
{
    return zt_arena_printf(a, "%s/providers/Microsoft.Network/networkSecurityGroups/nsg-%d", rg(a),
                           i);
}

static const char *rt(zt_arena *a)
{
    return zt_arena_printf(a, "%s/providers/Microsoft.Network/routeTables/rt-lists", rg(a));
}

static const char *route_body(zt_arena *a, int i)
{
    return zt_arena_printf(a, "{\"properties\":{\"addressPrefix\":\"10.%d.0.0/16\","
                              "\"nextHopType\":\"None\"}}", i);
}

static zt_rc put(zt_arm_client *c, zt_arena *a, const char *path, const char *body)
{
    json_error_t je;
    json_t *j = json_loads(body, 0, &je);
    ck_assert_ptr_nonnull(j);
    zt_arm_req req = {.method = ZT_ARM_PUT, .path = path, .body = j,
                      .deadline_ms = zt_arm_deadline_in(60000)};
    zt_arm_resp r;
    zt_rc rc = zt_arm_do(c, a, &req, &r);
    json_decref(j);
    return rc;
}

static zt_rc get(zt_arm_client *c, zt_arena *a, const char *path, bool listed, json_t **body)
{
    zt_arm_req req = {.method = ZT_ARM_GET, .path = path, .deadline_ms = zt_arm_deadline_in(60000)};
    zt_arm_resp r;
    zt_rc rc = listed ? zt_arm_get_listed(c, a, &req, &r) : zt_arm_do(c, a, &req, &r);
    *body = r.body;
    return rc;
}

static void setup(void)
{
    ctl0("POST", "/reset", NULL);
    /* Pages of three: eight members take three list requests. */
    ctl0("POST", "/config", "{\"time_scale\":0.001,\"page_size\":3}");
    ctl0("POST", "/throttling", "{\"enabled\":false}");
    unsetenv("ZT_ARM_LIST_READS");
    zt_arm_client *c = client();
    zt_arena *a = zt_arena_new();
    ck_assert_int_eq(put(c, a, rg(a), "{\"location\":\"westeurope\"}"), ZT_OK);
    for (int i = 0; i < N_NSG; i++)
        ck_assert_int_eq(put(c, a, nsg(a, i), "{\"location\":\"westeurope\"}"), ZT_OK);
    ck_assert_int_eq(put(c, a, rt(a), "{\"location\":\"westeurope\"}"), ZT_OK);
    ck_assert_int_eq(put(c, a, zt_arena_printf(a, "%s-other", rt(a)), "{\"location\":\"westeurope\"}"),
                     ZT_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(put(c, a, zt_arena_printf(a, "%s/routes/route-%d", rt(a), i),
                             route_body(a, i)),
                         ZT_OK);
    zt_arena_free(a);
    zt_arm_client_free(c);
}

/* Two peered VNets of rg-lists, each with two subnets: their subnets and
 * peerings are inline children (list_reads.json "inline"). */
static const char *vnet(zt_arena *a, char which)
{
    return zt_arena_printf(a, "%s/providers/Microsoft.Network/virtualNetworks/vnet-%c", rg(a),
                           which);
}

static const char *peering(zt_arena *a, char from, char to)
{
    return zt_arena_printf(a, "%s/virtualNetworkPeerings/%c-to-%c", vnet(a, from), from, to);
}

static const char *subnet(zt_arena *a, char which, int i)
{
    return zt_arena_printf(a, "%s/subnets/snet-%d", vnet(a, which), i);
}

static const char *peering_body(zt_arena *a, char to, bool forwarded)
{
    return zt_arena_printf(a, "{\"properties\":{\"remoteVirtualNetwork\":{\"id\":\"%s\"},"
                              "\"allowVirtualNetworkAccess\":true,\"allowForwardedTraffic\":%s}}",
                           vnet(a, to), forwarded ? "true" : "false");
}

static void put_vnets(zt_arm_client *c, zt_arena *a)
{
    for (int v = 0; v < 2; v++) {
        char w = (char)('a' + v);
        ck_assert_int_eq(
            put(c, a, vnet(a, w),
                zt_arena_printf(a, "{\"location\":\"westeurope\",\"properties\":{"
                                   "\"addressSpace\":{\"addressPrefixes\":[\"10.%d.0.0/16\"]},"
                                   "\"subnets\":[{\"name\":\"snet-0\",\"properties\":{"
                                   "\"addressPrefix\":\"10.%d.0.0/24\"}},{\"name\":\"snet-1\","
                                   "\"properties\":{\"addressPrefix\":\"10.%d.1.0/24\"}}]}}",
                                v + 1, v + 1, v + 1)),
            ZT_OK);
    }
    ck_assert_int_eq(put(c, a, peering(a, 'a', 'b'), peering_body(a, 'b', false)), ZT_OK);
    ck_assert_int_eq(put(c, a, peering(a, 'b', 'a'), peering_body(a, 'a', false)), ZT_OK);
}

/* The listed body of id equals its own GET's. */
static void listed_is_own(zt_arm_client *c, zt_arena *a, const char *id)
{
    json_t *listed, *own;
    ck_assert_int_eq(get(c, a, id, true, &listed), ZT_OK);
    ck_assert_int_eq(get(c, a, id, false, &own), ZT_OK);
    ck_assert_msg(json_equal(listed, own), "%s: the inline body and the GET body differ", id);
}

typedef struct reader {
    zt_arm_client *c;
    int i;
    zt_rc rc, missing_rc;
} reader;

/* One resource each, as Terraform refreshes them, and one that is gone. */
static void *read_one(void *arg)
{
    reader *r = arg;
    zt_arena *a = zt_arena_new();
    json_t *b;
    r->rc = get(r->c, a, nsg(a, r->i), true, &b);
    if (r->rc == ZT_OK && !b)
        r->rc = ZT_ERR_DECODE;
    r->missing_rc = get(r->c, a, nsg(a, 100 + r->i), true, &b);
    zt_arena_free(a);
    return NULL;
}

static void read_all_at_once(zt_arm_client *c)
{
    reader rd[N_NSG];
    pthread_t th[N_NSG];
    for (int i = 0; i < N_NSG; i++) {
        rd[i] = (reader){.c = c, .i = i};
        pthread_create(&th[i], NULL, read_one, &rd[i]);
    }
    for (int i = 0; i < N_NSG; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(rd[i].rc, ZT_OK);
        ck_assert_int_eq(rd[i].missing_rc, ZT_ERR_NOTFOUND);
    }
}

START_TEST(test_one_list_read_for_concurrent_readers)
{
    zt_arm_client *c = client();
    read_all_at_once(c);
    /* One list, its three pages, for 16 reads. */
    ck_assert_uint_eq(zt_arm_list_pages(c), 3);
    /* Read again (a later command of the same process): Azure as it is now. */
    zt_arena *a = zt_arena_new();
    ctl0("POST", "/drift", "{\"id\":\"%s\",\"set\":{\"tags.owner\":\"someone-else\"}}",
         nsg(a, 3));
    json_t *b;
    ck_assert_int_eq(get(c, a, nsg(a, 3), true, &b), ZT_OK);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "tags"), "owner")),
                     "someone-else");
    ck_assert_uint_eq(zt_arm_list_pages(c), 6);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_members_answer_their_get_body)
{
    zt_arm_client *c = client();
    zt_arena *a = zt_arena_new();
    for (int i = 0; i < N_NSG; i++) {
        json_t *listed, *own;
        ck_assert_int_eq(get(c, a, nsg(a, i), true, &listed), ZT_OK);
        ck_assert_int_eq(get(c, a, nsg(a, i), false, &own), ZT_OK);
        ck_assert_msg(json_equal(listed, own), "nsg-%d: list and GET bodies differ", i);
    }
    /* A child type: one list of the parent's children. */
    for (int i = 0; i < 3; i++) {
        json_t *listed, *own;
        const char *id = zt_arena_printf(a, "%s/routes/route-%d", rt(a), i);
        ck_assert_int_eq(get(c, a, id, true, &listed), ZT_OK);
        ck_assert_int_eq(get(c, a, id, false, &own), ZT_OK);
        ck_assert_msg(json_equal(listed, own), "route-%d: list and GET bodies differ", i);
    }
    ck_assert_uint_eq(zt_arm_list_pages(c), 3 + 1);
    /* A missing parent: its children are all gone, as their GETs say. */
    json_t *b;
    ck_assert_int_eq(get(c, a,
                         zt_arena_printf(a, "%s/providers/Microsoft.Network/routeTables/"
                                            "rt-none/routes/x", rg(a)),
                         true, &b),
                     ZT_ERR_NOTFOUND);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_writes_drop_what_they_make_stale)
{
    zt_arm_client *c = client();
    zt_arena *a = zt_arena_new();
    json_t *b;
    /* A sibling's write... */
    ck_assert_int_eq(get(c, a, nsg(a, 0), true, &b), ZT_OK);
    unsigned pages = zt_arm_list_pages(c);
    ck_assert_int_eq(put(c, a, nsg(a, 1), "{\"location\":\"westeurope\",\"tags\":{\"owner\":\"x\"}}"),
                     ZT_OK);
    ck_assert_int_eq(get(c, a, nsg(a, 1), true, &b), ZT_OK);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "tags"), "owner")), "x");
    ck_assert_uint_eq(zt_arm_list_pages(c), pages + 3);

    /* ...a child's (its parent's body holds its children inline)... */
    ck_assert_int_eq(get(c, a, zt_arena_printf(a, "%s-other", rt(a)), true, &b), ZT_OK);
    pages = zt_arm_list_pages(c);
    ck_assert_int_eq(put(c, a, zt_arena_printf(a, "%s/routes/route-9", rt(a)), route_body(a, 9)),
                     ZT_OK);
    ck_assert_int_eq(get(c, a, rt(a), true, &b), ZT_OK);
    ck_assert_uint_eq(zt_arm_list_pages(c), pages + 1);
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(b, "properties"),
                                                      "routes")),
                      4);
    /* ...and a delete. */
    ck_assert_int_eq(get(c, a, nsg(a, 3), true, &b), ZT_OK);
    zt_arm_req del = {.method = ZT_ARM_DELETE, .path = nsg(a, 2),
                      .deadline_ms = zt_arm_deadline_in(60000)};
    zt_arm_resp r;
    ck_assert_int_eq(zt_arm_do(c, a, &del, &r), ZT_OK);
    ck_assert_int_eq(get(c, a, nsg(a, 2), true, &b), ZT_ERR_NOTFOUND);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_inline_children_answer_their_get_body)
{
    zt_arm_client *c = client();
    zt_arena *a = zt_arena_new();
    put_vnets(c, a);
    ck_assert(zt_arm_list_type("Microsoft.Network/virtualNetworks/virtualNetworkPeerings"));
    ck_assert(zt_arm_list_type("microsoft.network/virtualnetworks/subnets"));
    /* Peerings and subnets of both VNets, and the VNets themselves: one
     * list of the resource group's VNets answers them all. */
    listed_is_own(c, a, peering(a, 'a', 'b'));
    listed_is_own(c, a, peering(a, 'b', 'a'));
    for (int i = 0; i < 2; i++) {
        listed_is_own(c, a, subnet(a, 'a', i));
        listed_is_own(c, a, subnet(a, 'b', i));
    }
    listed_is_own(c, a, vnet(a, 'a'));
    ck_assert_uint_eq(zt_arm_list_pages(c), 1);
    /* A child the parent does not carry, and a child of a missing parent:
     * gone, as their GETs say, from the same list. */
    json_t *b;
    ck_assert_int_eq(get(c, a, zt_arena_printf(a, "%s/subnets/snet-9", vnet(a, 'a')), true, &b),
                     ZT_ERR_NOTFOUND);
    ck_assert_int_eq(get(c, a, zt_arena_printf(a, "%s/providers/Microsoft.Network/"
                                                  "virtualNetworks/vnet-z/subnets/snet-0", rg(a)),
                         true, &b),
                     ZT_ERR_NOTFOUND);
    ck_assert_uint_eq(zt_arm_list_pages(c), 1);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_inline_child_write_drops_parent_list)
{
    zt_arm_client *c = client();
    zt_arena *a = zt_arena_new();
    put_vnets(c, a);
    json_t *b;
    /* The list is filled by a read of the other VNet's peering... */
    ck_assert_int_eq(get(c, a, peering(a, 'b', 'a'), true, &b), ZT_OK);
    unsigned pages = zt_arm_list_pages(c);
    /* ...then this process writes a peering: its read must see the write. */
    ck_assert_int_eq(put(c, a, peering(a, 'a', 'b'), peering_body(a, 'b', true)), ZT_OK);
    ck_assert_int_eq(get(c, a, peering(a, 'a', 'b'), true, &b), ZT_OK);
    ck_assert(json_is_true(
        json_object_get(json_object_get(b, "properties"), "allowForwardedTraffic")));
    ck_assert_uint_eq(zt_arm_list_pages(c), pages + 1);
    /* A child read a second time lists again: another client's change
     * since the first list is seen. */
    ck_assert_int_eq(get(c, a, subnet(a, 'b', 0), true, &b), ZT_OK);
    ctl0("POST", "/drift", "{\"id\":\"%s\",\"set\":{\"properties.addressPrefix\":"
                           "\"10.2.9.0/24\"}}",
         subnet(a, 'b', 1));
    ck_assert_int_eq(get(c, a, subnet(a, 'b', 0), true, &b), ZT_OK);
    ck_assert_int_eq(get(c, a, subnet(a, 'b', 1), true, &b), ZT_OK);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "properties"),
                                                       "addressPrefix")),
                     "10.2.9.0/24");
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_parts_of_one_member_share_its_list)
{
    zt_arm_client *c = client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    /* Four nodes, each reading its part of one shared resource, and the
     * resource itself: one list. */
    for (int i = 0; i < 4; i++) {
        zt_arm_req req = {.method = ZT_ARM_GET, .path = nsg(a, 0),
                          .deadline_ms = zt_arm_deadline_in(60000)};
        const char *part = zt_arena_printf(a, "%s#part-%d", nsg(a, 0), i);
        ck_assert_int_eq(zt_arm_get_listed_part(c, a, &req, part, &r), ZT_OK);
        ck_assert_str_eq(json_string_value(json_object_get(r.body, "name")), "nsg-0");
    }
    json_t *b;
    ck_assert_int_eq(get(c, a, nsg(a, 0), true, &b), ZT_OK);
    ck_assert_uint_eq(zt_arm_list_pages(c), 3);
    /* A part read again: Azure as it is now, from a new list. */
    zt_arm_req req = {.method = ZT_ARM_GET, .path = nsg(a, 0),
                      .deadline_ms = zt_arm_deadline_in(60000)};
    ck_assert_int_eq(
        zt_arm_get_listed_part(c, a, &req, zt_arena_printf(a, "%s#part-1", nsg(a, 0)), &r),
        ZT_OK);
    ck_assert_uint_eq(zt_arm_list_pages(c), 6);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_own_gets_when_off_or_not_listed)
{
    zt_arm_client *c = client();
    zt_arena *a = zt_arena_new();
    json_t *b;
    /* Not in list_reads.json: an extension type. */
    ck_assert(!zt_arm_list_type("Microsoft.Insights/diagnosticSettings"));
    ck_assert(zt_arm_list_type("microsoft.network/networksecuritygroups"));
    ck_assert_int_eq(get(c, a, zt_arena_printf(a, "%s/providers/Microsoft.Insights/"
                                                  "diagnosticSettings/none", nsg(a, 0)),
                         true, &b),
                     ZT_ERR_NOTFOUND);
    ck_assert_uint_eq(zt_arm_list_pages(c), 0);
    zt_arm_client_free(c);

    setenv("ZT_ARM_LIST_READS", "0", 1);
    c = client();
    for (int i = 0; i < N_NSG; i++)
        ck_assert_int_eq(get(c, a, nsg(a, i), true, &b), ZT_OK);
    ck_assert_uint_eq(zt_arm_list_pages(c), 0);
    unsetenv("ZT_ARM_LIST_READS");
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

int main(void)
{
    zt_test_emulator_load(&g_emu);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("arm_lists");
    TCase *tc = tcase_create("lists");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_one_list_read_for_concurrent_readers);
    tcase_add_test(tc, test_members_answer_their_get_body);
    tcase_add_test(tc, test_writes_drop_what_they_make_stale);
    tcase_add_test(tc, test_inline_children_answer_their_get_body);
    tcase_add_test(tc, test_inline_child_write_drops_parent_list);
    tcase_add_test(tc, test_parts_of_one_member_share_its_list);
    tcase_add_test(tc, test_own_gets_when_off_or_not_listed);
    suite_add_tcase(s, tc);
    int failed = zt_test_failures(s, false);
    json_decref(g_emu.info);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
