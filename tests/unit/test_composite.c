/* Unit tests of the composite engine without ARM: definition checks
 * (every registered composite), graph expansion and ordering, plan actions
 * and determinism, requires_replace, drift comparison, private state,
 * timeouts. The test composite is tests/composite/zt_test_composite.h. */
#include "zt_comp_internal.h"

#include "../composite/zt_test_composite.h"

#include "zt_test.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB "22222222-2222-2222-2222-222222222222"
#define RG "/subscriptions/" SUB "/resourceGroups/rg1"

static zt_arena *A;
static zt_diags D;
static zt_provider g_provider;
static zt_schema *S;
static zt_call C;

static void setup(void)
{
    A = zt_arena_new();
    zt_diags_init(&D, A);
    memset(&g_provider, 0, sizeof(g_provider));
    g_provider.config.subscription_id = SUB;
    atomic_store(&g_provider.configured, true);
    C = (zt_call){.arena = A, .diags = &D, .provider = &g_provider};
    ck_assert_int_eq(zt_schema_parse(A, zt_test_schema_json, strlen(zt_test_schema_json), &S, &D),
                     ZT_OK);
}

static void teardown(void) { zt_arena_free(A); }

static const char *diag_text(void)
{
    zt_buf b;
    zt_buf_init(&b, A);
    for (zt_diag *d = D.head; d; d = d->next)
        zt_buf_printf(&b, "[%s: %s] ", d->summary, d->detail ? d->detail : "");
    return zt_buf_cstr(&b);
}

/* A configuration value; "extra" is spliced into the JSON object. */
static const zt_cty_value *cfg(const char *extra)
{
    const char *json = zt_arena_printf(
        A,
        "{\"name\":\"t1\",\"resource_group_name\":\"rg1\",\"location\":\"westeurope\","
        "\"address_space\":\"10.0.0.0/16\",\"subnets\":{\"a\":\"10.0.1.0/24\","
        "\"b\":\"10.0.2.0/24\"},\"tags\":{\"owner\":\"me\"}%s%s}",
        extra ? "," : "", extra ? extra : "");
    const zt_cty_value *v = NULL;
    ck_assert_msg(zt_cty_json_decode(A, json, strlen(json), S->type, false, &v, &D) == ZT_OK,
                  "%s", diag_text());
    return v;
}

static zt_comp_eval *eval(const zt_composite_def *def, const zt_cty_value *in, zt_comp_mode m)
{
    zt_comp_eval *ev = zt_arena_alloc(A, sizeof(*ev));
    zt_comp_eval_init(ev, &C, def, S, in, m);
    ck_assert_int_eq(zt_comp_eval_subscription(ev), ZT_OK);
    ck_assert_msg(zt_comp_graph_build(ev) == ZT_OK, "%s", diag_text());
    return ev;
}

static size_t pos(const zt_comp_graph *g, const char *key)
{
    ssize_t i = zt_comp_graph_find(g, key);
    ck_assert_msg(i >= 0, "no instance %s", key);
    for (size_t k = 0; k < g->n; k++)
        if (g->order[k] == (size_t)i)
            return k;
    ck_abort_msg("%s not ordered", key);
    return 0;
}

static const char *map_str(const zt_cty_value *obj, const char *attr, const char *key)
{
    const zt_cty_value *v = zt_cty_map_get(zt_cty_get_attr(obj, attr), key);
    return v && !v->is_unknown && !v->is_null ? v->u.str.ptr : NULL;
}

/* ---- definitions -------------------------------------------------------------- */

START_TEST(registered_composites_are_valid)
{
    for (size_t i = 0; zt_composites[i]; i++) {
        ck_assert_msg(zt_comp_def_check(zt_composites[i], &D) == ZT_OK, "%s: %s",
                      zt_composites[i]->type_name, diag_text());
        ck_assert_ptr_eq(zt_composite_find(zt_composites[i]->type_name), zt_composites[i]);
        ck_assert_msg(zt_schema_find(ZT_SCHEMA_RESOURCE, zt_composites[i]->type_name) != NULL,
                      "%s has no schema", zt_composites[i]->type_name);
    }
    ck_assert_int_eq(zt_comp_def_check(&zt_test_composite, &D), ZT_OK);
    ck_assert_ptr_null(zt_composite_find("zerotrust_nope"));
}
END_TEST

/* ---- state upgrades -------------------------------------------------------------- */

START_TEST(every_schema_version_has_an_upgrade)
{
    for (size_t i = 0; zt_composites[i]; i++) {
        const zt_composite_def *def = zt_composites[i];
        const zt_schema *s = zt_schema_find(ZT_SCHEMA_RESOURCE, def->type_name);
        for (int64_t v = 0; v < s->version; v++) {
            bool found = false;
            for (size_t k = 0; k < def->n_upgrades; k++)
                found |= def->upgrades[k].from_version == v;
            ck_assert_msg(found, "%s: no upgrade from schema version %lld", def->type_name,
                          (long long)v);
        }
    }
}
END_TEST

static zt_rc add_location(zt_arena *a, json_t *state, zt_diags *d)
{
    ZT_UNUSED(a);
    ZT_UNUSED(d);
    json_object_set_new(state, "location", json_string("northeurope"));
    return ZT_OK;
}

static const zt_upgrade_op v0_ops[] = {
    {ZT_UPGRADE_RENAME, "nom", "name"},
    {ZT_UPGRADE_COPY, "name", "resource_group_name"},
    {ZT_UPGRADE_DROP, "id", NULL},
};

START_TEST(upgrade_chain_runs_each_step_in_order)
{
    static const zt_state_upgrade steps[] = {
        {1, NULL, 0, add_location}, /* order in the table does not matter */
        {0, v0_ops, ZT_ARRAY_LEN(v0_ops), NULL},
    };
    zt_composite_def def = zt_test_composite;
    def.upgrades = steps;
    def.n_upgrades = ZT_ARRAY_LEN(steps);
    zt_schema s2 = *S;
    s2.version = 2;
    const char *v0 = "{\"nom\":\"t1\",\"id\":\"x\",\"location\":\"westeurope\","
                     "\"removed_long_ago\":true,\"tags\":{\"owner\":\"me\"}}";
    const zt_cty_value *out = NULL;
    ck_assert_msg(zt_comp_upgrade_state(&C, &def, &s2, 0, v0, strlen(v0), &out) == ZT_OK, "%s",
                  diag_text());
    ck_assert_str_eq(zt_cty_get_attr(out, "name")->u.str.ptr, "t1");
    ck_assert_str_eq(zt_cty_get_attr(out, "resource_group_name")->u.str.ptr, "t1");
    ck_assert_str_eq(zt_cty_get_attr(out, "location")->u.str.ptr, "northeurope");
    ck_assert(zt_cty_get_attr(out, "id")->is_null);
    ck_assert_str_eq(map_str(out, "tags", "owner"), "me");
    /* from version 1 only the second step runs */
    const char *v1 = "{\"name\":\"t2\"}";
    ck_assert_int_eq(zt_comp_upgrade_state(&C, &def, &s2, 1, v1, strlen(v1), &out), ZT_OK);
    ck_assert_str_eq(zt_cty_get_attr(out, "location")->u.str.ptr, "northeurope");
    ck_assert(zt_cty_get_attr(out, "resource_group_name")->is_null);
    /* a gap in the chain, and a state that is not an object, are errors */
    def.n_upgrades = 1;
    ck_assert_int_ne(zt_comp_upgrade_state(&C, &def, &s2, 0, v0, strlen(v0), &out), ZT_OK);
    ck_assert_msg(strstr(diag_text(), "no upgrade from schema version 0 to 1") != NULL, "%s",
                  diag_text());
    ck_assert_int_ne(zt_comp_upgrade_state(&C, &def, &s2, 1, "[1]", 3, &out), ZT_OK);
}
END_TEST

/* Version 0 states as the 0.1.0 release wrote them (the attributes that moved). */
static const zt_cty_value *upgrade_v0(const char *type, const char *json)
{
    const zt_composite_def *def = zt_composite_find(type);
    const zt_schema *s = zt_schema_find(ZT_SCHEMA_RESOURCE, type);
    const zt_cty_value *out = NULL;
    ck_assert_msg(zt_comp_upgrade_state(&C, def, s, 0, json, strlen(json), &out) == ZT_OK,
                  "%s: %s", type, diag_text());
    return out;
}

START_TEST(v0_states_take_azurerm_names)
{
    const char *vnet = RG "/providers/Microsoft.Network/virtualNetworks/vnet-weu";
    const char *dbw = RG "/providers/Microsoft.Databricks/workspaces/dbw-a";
    const zt_cty_value *h = upgrade_v0(
        "zerotrust_hub", zt_arena_printf(A, "{\"id\":\"%s\",\"vnet_id\":\"%s\",\"name\":\"weu\"}",
                                         vnet, vnet));
    ck_assert_str_eq(zt_cty_get_attr(h, "virtual_network_id")->u.str.ptr, vnet);
    ck_assert_str_eq(zt_cty_get_attr(h, "name")->u.str.ptr, "weu");
    const zt_cty_value *sp = upgrade_v0(
        "zerotrust_spoke", zt_arena_printf(A, "{\"vnet_id\":\"%s-s\",\"hub_vnet_id\":\"%s\"}",
                                           vnet, vnet));
    ck_assert_str_eq(zt_cty_get_attr(sp, "hub_virtual_network_id")->u.str.ptr, vnet);
    ck_assert_str_eq(zt_cty_get_attr(sp, "virtual_network_id")->u.str.ptr,
                     zt_arena_printf(A, "%s-s", vnet));
    const zt_cty_value *w = upgrade_v0(
        "zerotrust_databricks_private_workspace",
        zt_arena_printf(A, "{\"id\":\"" RG "/providers/Microsoft.ManagedIdentity/"
                           "userAssignedIdentities/id-a-uc\",\"workspace_id\":\"%s\"}", dbw));
    ck_assert_str_eq(zt_cty_get_attr(w, "id")->u.str.ptr, dbw);
    ck_assert_str_eq(zt_cty_get_attr(w, "workspace_resource_id")->u.str.ptr, dbw);
    ck_assert(zt_cty_get_attr(w, "workspace_id")->is_null); /* the next refresh reads it */
}
END_TEST

static const char *cyc_name(const zt_comp_eval *ev) { ZT_UNUSED(ev); return "x"; }
static json_t *cyc_body(const zt_comp_eval *ev) { ZT_UNUSED(ev); return json_object(); }

START_TEST(cycles_are_detected)
{
    static const char *const da[] = {"b", NULL}, *const db[] = {"c", NULL},
                             *const dc[] = {"a", NULL};
    const zt_comp_node_def nodes[] = {
        {.key = "a", .arm_type = "Microsoft.Network/virtualNetworks", .depends_on = da,
         .name = cyc_name, .body = cyc_body},
        {.key = "b", .arm_type = "Microsoft.Network/virtualNetworks", .depends_on = db,
         .name = cyc_name, .body = cyc_body},
        {.key = "c", .arm_type = "Microsoft.Network/virtualNetworks", .depends_on = dc,
         .name = cyc_name, .body = cyc_body},
    };
    zt_composite_def def = {.type_name = "zerotrust_cyc", .nodes = nodes, .n_nodes = 3,
                            .id_node = "a"};
    ck_assert_int_ne(zt_comp_def_check(&def, &D), ZT_OK);
    ck_assert_msg(strstr(diag_text(), "a -> b -> c -> a") != NULL, "%s", diag_text());

    static const char *const dx[] = {"nope", NULL};
    zt_comp_node_def bad[] = {{.key = "a", .arm_type = "T/x", .depends_on = dx,
                               .name = cyc_name, .body = cyc_body}};
    def.nodes = bad;
    def.n_nodes = 1;
    ck_assert_int_ne(zt_comp_def_check(&def, &D), ZT_OK);
    ck_assert_msg(strstr(diag_text(), "\"nope\"") != NULL, "%s", diag_text());
}
END_TEST

/* ---- graph ---------------------------------------------------------------------- */

START_TEST(graph_expands_instances_and_orders)
{
    zt_comp_eval *ev = eval(&zt_test_composite, cfg(NULL), ZT_COMP_PLAN);
    const zt_comp_graph *g = &ev->graph;
    ck_assert_uint_eq(g->n, 5); /* vnet, nsg, subnet[a], subnet[b], pip */
    ck_assert_uint_lt(pos(g, "vnet"), pos(g, "subnet[a]"));
    ck_assert_uint_lt(pos(g, "nsg"), pos(g, "subnet[a]"));
    ck_assert_uint_lt(pos(g, "nsg"), pos(g, "subnet[b]"));
    ssize_t sa = zt_comp_graph_find(g, "subnet[a]");
    ck_assert_uint_eq(g->inst[sa].n_deps, 2);
    ck_assert_str_eq(zt_comp_id(ev, "vnet"),
                     RG "/providers/Microsoft.Network/virtualNetworks/t1-vnet");
    ck_assert_str_eq(zt_comp_id(ev, "subnet[b]"),
                     RG "/providers/Microsoft.Network/virtualNetworks/t1-vnet/subnets/b");
    ck_assert_ptr_null(zt_comp_id(ev, "subnet"));

    ev = eval(&zt_test_composite, cfg("\"nsg_enabled\":false"), ZT_COMP_PLAN);
    ck_assert_uint_eq(ev->graph.n, 4);
    ck_assert_int_lt(zt_comp_graph_find(&ev->graph, "nsg"), 0);
    sa = zt_comp_graph_find(&ev->graph, "subnet[a]");
    ck_assert_uint_eq(ev->graph.inst[sa].n_deps, 1);
    ck_assert_ptr_null(zt_comp_id(ev, "nsg"));
}
END_TEST

/* ---- plan ------------------------------------------------------------------------- */

static zt_comp_plan_resp plan(const zt_cty_value *prior, const zt_cty_value *config,
                              const void *priv, size_t priv_len)
{
    zt_comp_plan_req req = {.prior = prior, .proposed = config, .config = config,
                            .prior_private = priv, .prior_private_len = priv_len};
    zt_comp_plan_resp resp;
    ck_assert_msg(zt_comp_plan(&C, &zt_test_composite, S, &req, &resp) == ZT_OK, "%s",
                  diag_text());
    return resp;
}

static void json_release(void *p) { json_decref(p); }

/* What an apply that succeeded would leave: every node exists with the
 * body's hash and ARM's answer. */
static zt_comp_state fake_apply(const zt_cty_value *planned)
{
    zt_comp_eval *ev = eval(&zt_test_composite, planned, ZT_COMP_APPLY);
    for (size_t k = 0; k < ev->graph.n; k++) {
        zt_comp_inst *in = &ev->graph.inst[ev->graph.order[k]];
        json_t *body = zt_comp_eval_body(ev, in);
        zt_comp_rec *r = zt_comp_priv_put(A, &ev->priv, in->key);
        r->id = in->id;
        r->exists = true;
        r->hash = zt_comp_body_hash(A, in->def, body);
        r->create_only = zt_comp_create_only(A, in->def, body);
        r->outputs = json_deep_copy(body);
        zt_arena_on_free(A, json_release, r->outputs);
        json_object_set_new(json_object_get(r->outputs, "properties"), "resourceGuid",
                            json_string("guid-1"));
        in->action = ZT_COMP_CREATE;
    }
    zt_comp_state st;
    const zt_cty_value *v =
        zt_comp_state_value(ev, planned, zt_cty_get_attr(planned, "underlying_changes"), true);
    zt_comp_finish_state(ev, v, &st);
    return st;
}

START_TEST(plan_create)
{
    const zt_cty_value *config = cfg(NULL);
    zt_comp_plan_resp p = plan(NULL, config, NULL, 0);
    ck_assert_str_eq(map_str(p.planned, "underlying_changes", "vnet"), "create");
    ck_assert_str_eq(map_str(p.planned, "underlying_changes", "subnet[b]"), "create");
    ck_assert_str_eq(map_str(p.planned, "underlying_resources", "pip"),
                     RG "/providers/Microsoft.Network/publicIPAddresses/t1-pip");
    ck_assert_str_eq(zt_cty_get_attr(p.planned, "id")->u.str.ptr,
                     RG "/providers/Microsoft.Network/virtualNetworks/t1-vnet");
    ck_assert(zt_cty_get_attr(p.planned, "vnet_guid")->is_unknown);
    /* configured values untouched */
    ck_assert(zt_cty_equal(zt_cty_get_attr(p.planned, "subnets"),
                           zt_cty_get_attr(config, "subnets")));
    ck_assert_uint_eq(p.n_requires_replace, 0);
    ck_assert_uint_eq(p.planned_private_len, 0);
}
END_TEST

START_TEST(plan_is_deterministic)
{
    const zt_cty_value *config = cfg(NULL);
    zt_comp_plan_resp p1 = plan(NULL, config, NULL, 0);
    zt_comp_plan_resp p2 = plan(NULL, config, NULL, 0);
    ck_assert(zt_cty_equal(p1.planned, p2.planned));
    zt_comp_state st = fake_apply(p1.planned);
    const zt_cty_value *changed = cfg("\"nsg_enabled\":false");
    zt_comp_plan_resp u1 = plan(st.state, changed, st.private_data, st.private_len);
    zt_comp_plan_resp u2 = plan(st.state, changed, st.private_data, st.private_len);
    ck_assert(zt_cty_equal(u1.planned, u2.planned));
    ck_assert_uint_eq(u1.planned_private_len, u2.planned_private_len);
    ck_assert(!memcmp(u1.planned_private, u2.planned_private, u1.planned_private_len));
}
END_TEST

START_TEST(plan_after_apply_is_clean)
{
    const zt_cty_value *config = cfg(NULL);
    zt_comp_state st = fake_apply(plan(NULL, config, NULL, 0).planned);
    ck_assert(zt_cty_is_wholly_known(st.state));
    ck_assert_str_eq(zt_cty_get_attr(st.state, "vnet_guid")->u.str.ptr, "guid-1");
    /* Terraform's proposed value: config plus prior computed values. */
    zt_comp_plan_resp p = plan(st.state, st.state, st.private_data, st.private_len);
    ck_assert_msg(zt_cty_equal(p.planned, st.state), "a clean plan must keep the prior state");
    ck_assert_uint_eq(p.n_requires_replace, 0);
}
END_TEST

START_TEST(plan_update_delete_replace)
{
    const zt_cty_value *config = cfg(NULL);
    zt_comp_state st = fake_apply(plan(NULL, config, NULL, 0).planned);

    /* a changed input: only the node whose body changes is updated, and
     * underlying_changes lists it alone; what the update does not set
     * (the VNet's resourceGuid) stays known */
    const zt_cty_value *v = zt_comp_set_attr(A, st.state, "address_space",
                                             zt_cty_string(A, "10.1.0.0/16"));
    zt_comp_plan_resp p = plan(st.state, v, st.private_data, st.private_len);
    ck_assert_str_eq(map_str(p.planned, "underlying_changes", "vnet"), "update");
    ck_assert_uint_eq(zt_cty_get_attr(p.planned, "underlying_changes")->u.coll.n, 1);
    ck_assert_str_eq(zt_cty_get_attr(p.planned, "vnet_guid")->u.str.ptr, "guid-1");
    ck_assert(zt_cty_is_wholly_known(zt_cty_get_attr(p.planned, "underlying_resources")));
    ck_assert_uint_eq(p.n_requires_replace, 0);

    /* a node no longer enabled is deleted, its dependents updated */
    v = zt_comp_set_attr(A, st.state, "nsg_enabled", zt_cty_bool(A, false));
    p = plan(st.state, v, st.private_data, st.private_len);
    ck_assert_str_eq(map_str(p.planned, "underlying_changes", "nsg"), "delete");
    ck_assert_str_eq(map_str(p.planned, "underlying_changes", "subnet[a]"), "update");
    ck_assert_ptr_null(map_str(p.planned, "underlying_resources", "nsg"));

    /* create_only pointer changed: replace the node */
    v = zt_comp_set_attr(A, st.state, "location", zt_cty_string(A, "northeurope"));
    p = plan(st.state, v, st.private_data, st.private_len);
    ck_assert_str_eq(map_str(p.planned, "underlying_changes", "vnet"), "replace");
    /* ARM deletes the subnets with their VNet: they are created again */
    ck_assert_str_eq(map_str(p.planned, "underlying_changes", "subnet[a]"), "create");

    /* a new name (not marked requires_replace here for the test's sake):
     * the node is replaced by a new resource */
    v = zt_comp_set_attr(A, st.state, "address_space", zt_cty_string(A, "10.0.0.0/16"));
    {
        zt_comp_eval *ev = eval(&zt_test_composite, v, ZT_COMP_PLAN);
        ck_assert_str_eq(zt_comp_key_node(A, "subnet[a]~/subscriptions/x/y"), "subnet");
        ck_assert_str_eq(zt_comp_key_node(A, "vnet~/subscriptions/x/y"), "vnet");
        ck_assert_str_eq(zt_comp_key_node(A, "vnet"), "vnet");
        ck_assert_uint_eq(ev->graph.n, 5);
    }

    /* requires_replace input */
    v = zt_comp_set_attr(A, st.state, "name", zt_cty_string(A, "t2"));
    p = plan(st.state, v, st.private_data, st.private_len);
    ck_assert_uint_eq(p.n_requires_replace, 1);
    ck_assert_str_eq(zt_path_str(A, p.requires_replace[0]), "name");

    /* destroy */
    p = plan(st.state, zt_cty_null(A, S->type), st.private_data, st.private_len);
    ck_assert(p.planned->is_null);
    ck_assert_uint_eq(p.planned_private_len, st.private_len);
}
END_TEST

START_TEST(plan_unknown_input)
{
    const zt_cty_value *config = cfg(NULL);
    zt_comp_state st = fake_apply(plan(NULL, config, NULL, 0).planned);
    /* an input not known yet: never made known, dependent bodies unknown,
     * their actions unknown */
    const zt_cty_value *v = zt_comp_set_attr(A, st.state, "address_space",
                                             zt_cty_unknown(A, &zt_cty_string_type));
    zt_comp_plan_resp p = plan(st.state, v, st.private_data, st.private_len);
    ck_assert(zt_cty_get_attr(p.planned, "address_space")->is_unknown);
    ck_assert(zt_cty_get_attr(p.planned, "underlying_changes")->is_unknown);
    ck_assert(zt_cty_get_attr(p.planned, "vnet_guid")->is_unknown);
    ck_assert(zt_cty_is_wholly_known(zt_cty_get_attr(p.planned, "underlying_resources")));

    /* the plan Terraform makes again at apply, with the value now known and
     * equal to the prior one, is a no-op compatible with the first plan */
    zt_comp_plan_resp again = plan(st.state, st.state, st.private_data, st.private_len);
    ck_assert(zt_cty_equal(again.planned, st.state));

    /* an unknown for_each input: which subnets exist is not known */
    v = zt_comp_set_attr(A, st.state, "subnets",
                         zt_cty_unknown(A, zt_cty_type_map(A, &zt_cty_string_type)));
    p = plan(st.state, v, st.private_data, st.private_len);
    ck_assert(zt_cty_get_attr(p.planned, "underlying_changes")->is_unknown);
    ck_assert(zt_cty_get_attr(p.planned, "underlying_resources")->is_unknown);
    ck_assert(zt_cty_get_attr(p.planned, "vnet_guid")->is_unknown);
    /* an unknown enabled input */
    v = zt_comp_set_attr(A, st.state, "nsg_enabled", zt_cty_unknown(A, &zt_cty_bool_type));
    p = plan(st.state, v, st.private_data, st.private_len);
    ck_assert(zt_cty_get_attr(p.planned, "underlying_changes")->is_unknown);

    /* an unknown name: IDs cannot be known */
    v = zt_comp_set_attr(A, config, "name", zt_cty_unknown(A, &zt_cty_string_type));
    p = plan(NULL, v, NULL, 0);
    ck_assert(zt_cty_get_attr(p.planned, "underlying_resources")->is_unknown);
    ck_assert(zt_cty_get_attr(p.planned, "id")->is_unknown);
}
END_TEST

START_TEST(plan_drift_flag_updates)
{
    const zt_cty_value *config = cfg(NULL);
    zt_comp_state st = fake_apply(plan(NULL, config, NULL, 0).planned);
    zt_comp_priv pv;
    ck_assert_int_eq(zt_comp_priv_decode(A, &D, st.private_data, st.private_len, &pv), ZT_OK);
    zt_comp_priv_get(&pv, "pip")->drift = true;
    zt_comp_priv_get(&pv, "subnet[b]")->exists = false;
    const void *data;
    size_t len;
    zt_comp_priv_encode(A, &pv, &data, &len);
    zt_comp_plan_resp p = plan(st.state, st.state, data, len);
    ck_assert_str_eq(map_str(p.planned, "underlying_changes", "pip"), "update");
    ck_assert_str_eq(map_str(p.planned, "underlying_changes", "subnet[b]"), "create");
    ck_assert_ptr_null(map_str(p.planned, "underlying_changes", "vnet"));
    /* vnet unchanged: its output stays known */
    ck_assert_str_eq(zt_cty_get_attr(p.planned, "vnet_guid")->u.str.ptr, "guid-1");
}
END_TEST

/* The warning whose summary contains `summary`: its detail. */
static const char *warning(const char *summary)
{
    for (zt_diag *d = D.head; d; d = d->next)
        if (d->severity == ZT_SEV_WARNING && strstr(d->summary, summary))
            return d->detail;
    ck_abort_msg("no warning \"%s\" in %s", summary, diag_text());
    return NULL;
}

static void expect_in(const char *text, const char *want)
{
    ck_assert_msg(strstr(text, want) != NULL, "\"%s\" not in:\n%s", want, text);
}

START_TEST(plan_explains_changes)
{
    const zt_cty_value *config = cfg(NULL);
    zt_comp_state st = fake_apply(plan(NULL, config, NULL, 0).planned);
    ck_assert_uint_eq(D.count, 0); /* a create explains nothing */

    /* drift (the refresh saw another allocation method) and the
     * configuration (another address space) */
    zt_comp_priv pv;
    ck_assert_int_eq(zt_comp_priv_decode(A, &D, st.private_data, st.private_len, &pv), ZT_OK);
    zt_comp_rec *pip = zt_comp_priv_get(&pv, "pip");
    pip->drift = true;
    /* what that refresh keeps: ARM's value where it differs */
    pip->diffs = json_pack("{s:s}", "/properties/publicIPAllocationMethod", "Dynamic");
    zt_arena_on_free(A, json_release, pip->diffs);
    zt_comp_priv_get(&pv, "subnet[b]")->exists = false;
    const void *data;
    size_t len;
    zt_comp_priv_encode(A, &pv, &data, &len);
    const zt_cty_value *v = zt_comp_set_attr(A, st.state, "address_space",
                                             zt_cty_string(A, "10.1.0.0/16"));
    plan(st.state, v, data, len);
    const char *w = warning("zerotrust_test \"t1\": 3 underlying resources change");
    expect_in(w, "- pip (Microsoft.Network/publicIPAddresses): updated in place\n"
                 "    properties.publicIPAllocationMethod \"Dynamic\" -> \"Static\" "
                 "(drift, will be repaired)");
    expect_in(w, "properties.addressSpace.addressPrefixes[0] \"10.0.0.0/16\" -> \"10.1.0.0/16\" "
                 "(configuration)");
    expect_in(w, "- subnet[b] (Microsoft.Network/virtualNetworks/subnets): deleted outside "
                 "Terraform, created again");

    /* replaced and deleted nodes, with what that costs */
    zt_diags_init(&D, A);
    v = zt_comp_set_attr(A, st.state, "location", zt_cty_string(A, "northeurope"));
    v = zt_comp_set_attr(A, v, "nsg_enabled", zt_cty_bool(A, false));
    plan(st.state, v, st.private_data, st.private_len);
    w = warning("zerotrust_test \"t1\": 4 underlying resources replaced or deleted");
    expect_in(w, "- vnet (Microsoft.Network/virtualNetworks): replaced: location \"westeurope\" -> "
                 "\"northeurope\" cannot change in place; every subnet goes with it");
    expect_in(w, "- subnet[a] (Microsoft.Network/virtualNetworks/subnets): deleted with vnet and "
                 "created again");
    expect_in(w, "- nsg (Microsoft.Network/networkSecurityGroups): deleted; its subnets lose");

    /* nothing to do: nothing to say */
    zt_diags_init(&D, A);
    plan(st.state, st.state, st.private_data, st.private_len);
    ck_assert_uint_eq(D.count, 0);
}
END_TEST

/* ---- private state --------------------------------------------------------------- */

START_TEST(private_roundtrip)
{
    zt_comp_priv p = {0}, q;
    zt_comp_rec *r = zt_comp_priv_put(A, &p, "zone_link[privatelink.blob.core.windows.net]");
    r->id = "/x";
    r->exists = true;
    r->hash = "abc";
    r->kept = json_pack("{s:s,s:n}", "/properties/ip", "10.0.0.4", "/properties/none");
    r->diffs = json_pack("{s:s}", "/tags/owner", "someone");
    const void *d1, *d2;
    size_t l1, l2;
    zt_comp_priv_encode(A, &p, &d1, &l1);
    ck_assert_int_eq(zt_comp_priv_decode(A, &D, d1, l1, &q), ZT_OK);
    zt_comp_priv_encode(A, &q, &d2, &l2);
    ck_assert_uint_eq(l1, l2);
    ck_assert(!memcmp(d1, d2, l1));
    r = zt_comp_priv_get(&q, "zone_link[privatelink.blob.core.windows.net]");
    ck_assert(r && r->exists && r->slim && !r->outputs);
    ck_assert_str_eq(json_string_value(json_object_get(r->kept, "/properties/ip")), "10.0.0.4");
    ck_assert(json_is_null(json_object_get(r->kept, "/properties/none")));
    /* what the plan explains: the prior body with ARM's differences over it */
    json_t *prior = json_pack("{s:{s:s,s:s}}", "tags", "owner", "me", "env", "test");
    json_t *actual = zt_comp_rec_actual(A, r, prior);
    ck_assert_str_eq(json_string_value(zt_comp_json_ptr(actual, "/tags/owner")), "someone");
    ck_assert_str_eq(json_string_value(zt_comp_json_ptr(actual, "/tags/env")), "test");
    ck_assert_str_eq(json_string_value(zt_comp_json_ptr(prior, "/tags/owner")), "me");
    json_decref(prior);
    json_decref(p.recs[0].kept);
    json_decref(p.recs[0].diffs);
    ck_assert_int_ne(zt_comp_priv_decode(A, &D, "nope", 4, &q), ZT_OK);
    ck_assert_int_eq(zt_comp_priv_decode(A, &D, NULL, 0, &q), ZT_OK);
    ck_assert_uint_eq(q.n, 0);
}
END_TEST

/* Version 1 (up to 0.2.0) kept ARM's whole body: it is that call's body. */
START_TEST(private_v1_reads_as_a_body)
{
    static const char v1[] =
        "{\"v\":1,\"nodes\":{\"fw\":{\"id\":\"/x\",\"exists\":true,\"drift\":false,"
        "\"hash\":\"h\",\"outputs\":{\"properties\":{\"ip\":\"10.0.1.4\","
        "\"provisioningState\":\"Succeeded\",\"big\":[1,2,3]}}}}}";
    zt_comp_priv q;
    ck_assert_int_eq(zt_comp_priv_decode(A, &D, v1, strlen(v1), &q), ZT_OK);
    zt_comp_rec *r = zt_comp_priv_get(&q, "fw");
    ck_assert(r && !r->slim);
    ck_assert_str_eq(json_string_value(zt_comp_json_ptr(r->outputs, "/properties/ip")),
                     "10.0.1.4");
    static const char v3[] = "{\"v\":3,\"nodes\":{}}";
    ck_assert_int_ne(zt_comp_priv_decode(A, &D, v3, strlen(v3), &q), ZT_OK);
}
END_TEST

/* ---- drift ------------------------------------------------------------------------ */

static bool drifted(const char *want, const char *have, const char **where)
{
    json_t *w = json_loads(want, 0, NULL), *h = json_loads(have, 0, NULL);
    ck_assert(w && h);
    bool r = zt_comp_drifted(A, &tc_nodes[0], w, h, where);
    json_decref(w);
    json_decref(h);
    return r;
}

START_TEST(drift_comparison)
{
    const char *where = NULL;
    const char *want = "{\"location\":\"westeurope\",\"tags\":{},\"properties\":{"
                       "\"addressSpace\":{\"addressPrefixes\":[\"10.0.0.0/16\"]},"
                       "\"subnet\":{\"id\":\"/subscriptions/X/resourceGroups/RG/a\"}}}";
    /* ARM adds read-only properties, normalizes case of IDs and locations */
    ck_assert(!drifted(want,
                       "{\"id\":\"/x\",\"location\":\"West Europe\",\"etag\":\"W/1\","
                       "\"properties\":{\"provisioningState\":\"Succeeded\","
                       "\"addressSpace\":{\"addressPrefixes\":[\"10.0.0.0/16\"]},"
                       "\"subnet\":{\"id\":\"/subscriptions/x/resourcegroups/rg/A\"},"
                       "\"dhcpOptions\":{\"dnsServers\":[]}}}",
                       &where));
    ck_assert(drifted(want,
                      "{\"location\":\"westeurope\",\"properties\":{"
                      "\"addressSpace\":{\"addressPrefixes\":[\"10.9.0.0/16\"]},"
                      "\"subnet\":{\"id\":\"/subscriptions/X/resourceGroups/RG/a\"}}}",
                      &where));
    ck_assert_str_eq(where, "/properties/addressSpace/addressPrefixes/0");
    /* missing property */
    ck_assert(drifted(want, "{\"location\":\"westeurope\",\"properties\":{}}", &where));
    /* ignore_drift pointers (tc_nodes[0] ignores /properties/dhcpOptions) */
    ck_assert(!drifted("{\"properties\":{\"dhcpOptions\":{\"dnsServers\":[\"10.0.0.4\"]}}}",
                       "{\"properties\":{\"dhcpOptions\":{\"dnsServers\":[]}}}", &where));
    /* other strings are case-sensitive */
    ck_assert(drifted("{\"sku\":{\"tier\":\"Standard\"}}", "{\"sku\":{\"tier\":\"standard\"}}",
                      &where));
    ck_assert(!drifted("{\"n\":1}", "{\"n\":1.0}", &where));
    /* ARM's own order for named elements and scalars */
    ck_assert(!drifted("{\"r\":[{\"name\":\"a\",\"p\":1},{\"name\":\"b\",\"p\":2}]}",
                       "{\"r\":[{\"name\":\"B\",\"p\":2},{\"name\":\"a\",\"p\":1}]}", &where));
    ck_assert(drifted("{\"r\":[{\"name\":\"a\",\"p\":1},{\"name\":\"b\",\"p\":2}]}",
                      "{\"r\":[{\"name\":\"b\",\"p\":2},{\"name\":\"a\",\"p\":3}]}", &where));
    ck_assert_str_eq(where, "/r/0/p");
    ck_assert(!drifted("{\"s\":[\"x\",\"y\"]}", "{\"s\":[\"y\",\"x\"]}", &where));
    ck_assert(drifted("{\"s\":[\"x\",\"y\"]}", "{\"s\":[\"y\",\"z\"]}", &where));
    ck_assert(drifted("{\"s\":[\"x\"]}", "{\"s\":[\"x\",\"z\"]}", &where));
}
END_TEST

/* What ARM sets only at create (a key's tags) changes neither the hash
 * (no update planned) nor counts as drift. */
START_TEST(set_at_create_pointers)
{
    static const char *const once[] = {"/tags", NULL};
    const zt_comp_node_def key = {.key = "key", .arm_type = "Microsoft.KeyVault/vaults/keys",
                                  .set_at_create = once};
    json_t *x = json_loads("{\"tags\":{\"a\":\"1\"},\"properties\":{\"kty\":\"RSA\"}}", 0, NULL);
    json_t *y = json_loads("{\"tags\":{\"a\":\"2\"},\"properties\":{\"kty\":\"RSA\"}}", 0, NULL);
    json_t *z = json_loads("{\"tags\":{\"a\":\"1\"},\"properties\":{\"kty\":\"EC\"}}", 0, NULL);
    ck_assert_str_eq(zt_comp_body_hash(A, &key, x), zt_comp_body_hash(A, &key, y));
    ck_assert_str_ne(zt_comp_body_hash(A, &key, x), zt_comp_body_hash(A, &key, z));
    ck_assert_str_ne(zt_comp_body_hash(A, NULL, x), zt_comp_body_hash(A, NULL, y));
    ck_assert(json_object_get(x, "tags")); /* the body itself is left alone */
    const char *where;
    ck_assert(!zt_comp_drifted(A, &key, y, x, &where));
    ck_assert(zt_comp_drifted(A, &key, z, x, &where));
    json_decref(x);
    json_decref(y);
    json_decref(z);
}
END_TEST

/* ---- timeouts --------------------------------------------------------------------- */

START_TEST(durations)
{
    int64_t ms;
    ck_assert_int_eq(zt_comp_parse_duration("45m", &ms), ZT_OK);
    ck_assert_int_eq(ms, 45 * 60000);
    ck_assert_int_eq(zt_comp_parse_duration("1h30m", &ms), ZT_OK);
    ck_assert_int_eq(ms, 90 * 60000);
    ck_assert_int_eq(zt_comp_parse_duration("1.5h", &ms), ZT_OK);
    ck_assert_int_eq(ms, 90 * 60000);
    ck_assert_int_eq(zt_comp_parse_duration("300ms", &ms), ZT_OK);
    ck_assert_int_eq(ms, 300);
    ck_assert_int_eq(zt_comp_parse_duration("2m30s", &ms), ZT_OK);
    ck_assert_int_eq(ms, 150000);
    ck_assert_int_ne(zt_comp_parse_duration("5", &ms), ZT_OK);
    ck_assert_int_ne(zt_comp_parse_duration("abc", &ms), ZT_OK);
    ck_assert_int_ne(zt_comp_parse_duration("", &ms), ZT_OK);
    ck_assert_int_ne(zt_comp_parse_duration("-5m", &ms), ZT_OK);
    ck_assert_int_ne(zt_comp_parse_duration("5m3", &ms), ZT_OK);

    const zt_cty_value *v = cfg("\"timeouts\":{\"create\":\"2h\",\"update\":null,"
                                "\"delete\":null,\"read\":null}");
    ck_assert_int_eq(zt_comp_timeout_ms(&zt_test_composite, v, ZT_COMP_T_CREATE), 7200000);
    ck_assert_int_eq(zt_comp_timeout_ms(&zt_test_composite, v, ZT_COMP_T_DELETE), 600000);
    ck_assert_int_eq(zt_comp_check_timeouts(&C, v), ZT_OK);
    v = cfg("\"timeouts\":{\"create\":\"soon\",\"update\":null,\"delete\":null,\"read\":null}");
    ck_assert_int_ne(zt_comp_validate(&C, &zt_test_composite, S, v), ZT_OK);
    ck_assert_str_eq(zt_path_str(A, D.head->path), "timeouts.create");
}
END_TEST

START_TEST(missing_subscription)
{
    g_provider.config.subscription_id = NULL;
    zt_comp_plan_req req = {.proposed = cfg(NULL), .config = cfg(NULL)};
    zt_comp_plan_resp resp;
    ck_assert_int_ne(zt_comp_plan(&C, &zt_test_composite, S, &req, &resp), ZT_OK);
    ck_assert_msg(strstr(diag_text(), "subscription_id") != NULL, "%s", diag_text());
}
END_TEST

/* A part of a shared resource: "<ID>#<item>,<item>". */
START_TEST(part_ids)
{
    const char *base, **names;
    size_t n;
    ck_assert(!zt_comp_part_split(A, "/subscriptions/s/x/y", &base, &names, &n));
    ck_assert_str_eq(zt_comp_part_base(A, "/subscriptions/s/x/y"), "/subscriptions/s/x/y");
    ck_assert(zt_comp_part_split(A, "/p/ruleCollectionGroups/spokes-1#a-network,a-application", &base,
                                 &names, &n));
    ck_assert_str_eq(base, "/p/ruleCollectionGroups/spokes-1");
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(names[0], "a-network");
    ck_assert_str_eq(names[1], "a-application");
    ck_assert_ptr_null(names[2]);
    ck_assert_str_eq(zt_comp_part_base(A, "/p/g#x"), "/p/g");
    ck_assert(zt_comp_part_split(A, "/p/g#x,,y,", &base, &names, &n));
    ck_assert_uint_eq(n, 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("composite");
    TCase *t = tcase_create("engine");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, registered_composites_are_valid);
    tcase_add_test(t, cycles_are_detected);
    tcase_add_test(t, every_schema_version_has_an_upgrade);
    tcase_add_test(t, upgrade_chain_runs_each_step_in_order);
    tcase_add_test(t, v0_states_take_azurerm_names);
    tcase_add_test(t, graph_expands_instances_and_orders);
    tcase_add_test(t, plan_create);
    tcase_add_test(t, plan_is_deterministic);
    tcase_add_test(t, plan_after_apply_is_clean);
    tcase_add_test(t, plan_update_delete_replace);
    tcase_add_test(t, plan_unknown_input);
    tcase_add_test(t, plan_drift_flag_updates);
    tcase_add_test(t, plan_explains_changes);
    tcase_add_test(t, private_roundtrip);
    tcase_add_test(t, private_v1_reads_as_a_body);
    tcase_add_test(t, drift_comparison);
    tcase_add_test(t, set_at_create_pointers);
    tcase_add_test(t, durations);
    tcase_add_test(t, missing_subscription);
    tcase_add_test(t, part_ids);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return zt_test_run(suite());
}
