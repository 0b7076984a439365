/* zt_test_composite.h - a small composite for the engine's tests: a VNet,
 * its subnets (for_each over the "subnets" map), an optional NSG every
 * subnet uses, and a public IP in parallel. Header-only (static) so that
 * the unit and the integration tests share it. */
#ifndef ZT_TEST_COMPOSITE_H
#define ZT_TEST_COMPOSITE_H

#include "zt_composite.h"

#include <stdlib.h>
#include <string.h>

static const char zt_test_schema_json[] =
    "{\"kind\":\"resource\",\"name\":\"zerotrust_test\",\"version\":0,\"block\":{"
    "\"description\":\"test composite\",\"attributes\":["
    "{\"name\":\"id\",\"type\":\"string\",\"computed\":true,\"description\":\"d\"},"
    "{\"name\":\"name\",\"type\":\"string\",\"required\":true,\"requires_replace\":true,"
    "\"description\":\"d\"},"
    "{\"name\":\"resource_group_name\",\"type\":\"string\",\"required\":true,"
    "\"requires_replace\":true,\"description\":\"d\"},"
    "{\"name\":\"location\",\"type\":\"string\",\"required\":true,\"description\":\"d\"},"
    "{\"name\":\"address_space\",\"type\":\"string\",\"required\":true,\"description\":\"d\"},"
    "{\"name\":\"subnets\",\"type\":[\"map\",\"string\"],\"optional\":true,\"description\":\"d\"},"
    "{\"name\":\"nsg_enabled\",\"type\":\"bool\",\"optional\":true,\"description\":\"d\"},"
    "{\"name\":\"tags\",\"type\":[\"map\",\"string\"],\"optional\":true,\"description\":\"d\"},"
    "{\"name\":\"vnet_guid\",\"type\":\"string\",\"computed\":true,\"description\":\"d\"},"
    "{\"name\":\"underlying_resources\",\"type\":[\"map\",\"string\"],\"computed\":true,"
    "\"description\":\"d\"},"
    "{\"name\":\"underlying_changes\",\"type\":[\"map\",\"string\"],\"computed\":true,"
    "\"description\":\"d\"}],"
    "\"blocks\":[{\"name\":\"timeouts\",\"nesting\":\"single\",\"description\":\"d\","
    "\"attributes\":["
    "{\"name\":\"create\",\"type\":\"string\",\"optional\":true,\"description\":\"d\"},"
    "{\"name\":\"update\",\"type\":\"string\",\"optional\":true,\"description\":\"d\"},"
    "{\"name\":\"delete\",\"type\":\"string\",\"optional\":true,\"description\":\"d\"},"
    "{\"name\":\"read\",\"type\":\"string\",\"optional\":true,\"description\":\"d\"}]}]}}";

static const char *tc_name(const zt_comp_eval *ev, const char *suffix)
{
    const char *n = zt_comp_input_str(ev, "name");
    return n ? zt_arena_printf(zt_comp_arena(ev), "%s-%s", n, suffix) : NULL;
}

static json_t *tc_base(const zt_comp_eval *ev)
{
    const char *loc = zt_comp_input_str(ev, "location");
    json_t *tags = zt_comp_tags(ev);
    if (!loc || !tags) {
        json_decref(tags);
        return NULL;
    }
    return json_pack("{s:s,s:o,s:{}}", "location", loc, "tags", tags, "properties");
}

static const char *tc_vnet_name(const zt_comp_eval *ev) { return tc_name(ev, "vnet"); }
static json_t *tc_vnet_body(const zt_comp_eval *ev)
{
    const char *space = zt_comp_input_str(ev, "address_space");
    json_t *b = tc_base(ev);
    if (!b || !space) {
        json_decref(b);
        return NULL;
    }
    json_object_set_new(json_object_get(b, "properties"), "addressSpace",
                        json_pack("{s:[s]}", "addressPrefixes", space));
    return b;
}

static bool tc_nsg_on(const zt_comp_eval *ev) { return zt_comp_input_bool(ev, "nsg_enabled", true); }
static const char *tc_nsg_name(const zt_comp_eval *ev) { return tc_name(ev, "nsg"); }
static json_t *tc_plain_body(const zt_comp_eval *ev) { return tc_base(ev); }

static const char *tc_pip_name(const zt_comp_eval *ev) { return tc_name(ev, "pip"); }
static json_t *tc_pip_body(const zt_comp_eval *ev)
{
    json_t *b = tc_base(ev);
    if (!b)
        return NULL;
    json_object_set_new(b, "sku", json_pack("{s:s}", "name", "Standard"));
    json_object_set_new(json_object_get(b, "properties"), "publicIPAllocationMethod",
                        json_string("Static"));
    return b;
}

/* Sorted map keys: the instance order must not depend on anything else. */
static const char **tc_subnet_keys(const zt_comp_eval *ev, size_t *n)
{
    const zt_cty_value *m = zt_comp_input(ev, "subnets");
    *n = 0;
    if (!m || m->is_null || m->is_unknown)
        return NULL;
    *n = m->u.coll.n;
    return (const char **)m->u.coll.keys;
}
static const char *tc_subnet_parent(const zt_comp_eval *ev) { return zt_comp_id(ev, "vnet"); }
static const char *tc_subnet_name(const zt_comp_eval *ev) { return zt_comp_instance(ev); }
static json_t *tc_subnet_body(const zt_comp_eval *ev)
{
    const zt_cty_value *m = zt_comp_input(ev, "subnets");
    const zt_cty_value *cidr = zt_cty_map_get(m, zt_comp_instance(ev));
    if (!cidr || cidr->is_unknown || cidr->is_null)
        return NULL;
    json_t *b = json_pack("{s:{s:s}}", "properties", "addressPrefix", cidr->u.str.ptr);
    const char *nsg = zt_comp_id(ev, "nsg");
    if (nsg)
        json_object_set_new(json_object_get(b, "properties"), "networkSecurityGroup",
                            json_pack("{s:s}", "id", nsg));
    return b;
}

static const zt_cty_value *tc_vnet_guid(const zt_comp_eval *ev)
{
    const char *g = zt_comp_output(ev, "vnet", "/properties/resourceGuid");
    return g ? zt_cty_string(zt_comp_arena(ev), g) : NULL;
}

static const char *const tc_subnet_deps[] = {"vnet", "nsg", NULL};
static const char *const tc_vnet_create_only[] = {"/location", NULL};
static const char *const tc_vnet_ignore[] = {"/properties/dhcpOptions", NULL};

static const zt_comp_node_def tc_nodes[] = {
    {.key = "vnet", .arm_type = "Microsoft.Network/virtualNetworks", .name = tc_vnet_name,
     .body = tc_vnet_body, .create_only = tc_vnet_create_only, .ignore_drift = tc_vnet_ignore},
    {.key = "nsg", .arm_type = "Microsoft.Network/networkSecurityGroups", .enabled = tc_nsg_on,
     .name = tc_nsg_name, .body = tc_plain_body},
    {.key = "subnet", .arm_type = "Microsoft.Network/virtualNetworks/subnets",
     .depends_on = tc_subnet_deps, .for_each = tc_subnet_keys, .parent_id = tc_subnet_parent,
     .name = tc_subnet_name, .body = tc_subnet_body},
    {.key = "pip", .arm_type = "Microsoft.Network/publicIPAddresses", .name = tc_pip_name,
     .body = tc_pip_body},
};

static const zt_comp_output_def tc_outputs[] = {
    {.attr = "vnet_guid", .value = tc_vnet_guid},
};


/* Import from the VNet ID: inputs rebuilt from ARM's VNet (its name,
 * resource group, address space, tags and inline subnets). */
static zt_rc tc_import(zt_call *c, const zt_schema *s, const char *id,
                       json_t *(*get)(void *getter, const char *arm_id), void *getter,
                       const zt_cty_value **inputs)
{
    json_t *v = get(getter, id);
    const char *name = json_string_value(json_object_get(v, "name"));
    const char *rg = strstr(id, "/resourceGroups/");
    size_t nl = name ? strlen(name) : 0;
    if (!v || !name || nl < 5 || strcmp(name + nl - 5, "-vnet") != 0 || !rg)
        return zt_diag_error(c->diags, NULL, "Cannot import", "%s is not a test VNet", id);
    rg += strlen("/resourceGroups/");
    const char *rg_end = strchr(rg, '/');
    json_t *props = json_object_get(v, "properties");
    json_t *in = json_pack("{s:s%,s:s%,s:O,s:O,s:O?}", "name", name, nl - 5,
                           "resource_group_name", rg, rg_end ? (size_t)(rg_end - rg) : strlen(rg),
                           "location", json_object_get(v, "location"), "address_space",
                           json_array_get(json_object_get(json_object_get(props, "addressSpace"),
                                                          "addressPrefixes"), 0),
                           "tags", json_object_get(v, "tags"));
    json_t *subnets = json_object();
    bool nsg = false;
    size_t i;
    json_t *sn;
    json_array_foreach(json_object_get(props, "subnets"), i, sn)
    {
        json_t *sp = json_object_get(sn, "properties");
        json_object_set(subnets, json_string_value(json_object_get(sn, "name")),
                        json_object_get(sp, "addressPrefix"));
        nsg = nsg || json_object_get(sp, "networkSecurityGroup");
    }
    json_object_set_new(in, "subnets", subnets);
    json_object_set_new(in, "nsg_enabled", json_boolean(nsg));
    char *text = json_dumps(in, JSON_COMPACT);
    json_decref(in);
    zt_rc rc = zt_cty_json_decode(c->arena, text, strlen(text), s->type, false, inputs,
                                  c->diags);
    free(text);
    return rc;
}

static const zt_composite_def zt_test_composite = {
    .type_name = "zerotrust_test",
    .nodes = tc_nodes,
    .n_nodes = sizeof(tc_nodes) / sizeof(tc_nodes[0]),
    .outputs = tc_outputs,
    .n_outputs = 1,
    .id_node = "vnet",
    .import = tc_import,
    .default_create_ms = 10 * 60 * 1000,
    .default_update_ms = 10 * 60 * 1000,
    .default_delete_ms = 10 * 60 * 1000,
    .default_read_ms = 5 * 60 * 1000,
};

#endif
