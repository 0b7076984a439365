/* zt_comp_explain.c - what an update plan tells its reviewer beyond the
 * underlying_changes map, as two plan warnings: every node replaced or
 * deleted with what that costs (downtime, a reserved name, data), and
 * every other change down to the property, saying whether it repairs
 * drift or follows the configuration. Terraform prints them under the
 * plan and `terraform plan -json` carries them as diagnostics. */
#include "zt_comp_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What deleting a resource of this type costs. */
static const struct {
    const char *type;
    const char *cost;
} g_costs[] = {
    {"Microsoft.Network/virtualNetworks",
     "every subnet goes with it: what runs in them loses its network and the peerings drop"},
    {"Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
     "traffic between the two networks stops until it is created again"},
    {"Microsoft.Network/azureFirewalls",
     "egress and spoke-to-spoke traffic through the firewall stop until the new one is up "
     "(about 10 minutes)"},
    {"Microsoft.Network/firewallPolicies",
     "the firewall has no rules while the policy is created again"},
    {"Microsoft.Network/firewallPolicies/ruleCollectionGroups",
     "the traffic its rules allow is denied until they are created again"},
    {"Microsoft.Network/publicIPAddresses",
     "the public IP address changes: allow-lists that name it must follow"},
    {"Microsoft.Network/bastionHosts", "no Bastion access until it is created again (about 10 minutes)"},
    {"Microsoft.Network/virtualNetworkGateways",
     "VPN clients are disconnected; a new gateway takes up to 45 minutes"},
    {"Microsoft.Network/dnsResolvers",
     "VPN and on-premises clients cannot resolve the private zones until it is back"},
    {"Microsoft.Network/dnsResolvers/inboundEndpoints",
     "VPN and on-premises clients cannot resolve the private zones; the inbound IP may change"},
    {"Microsoft.Network/privateDnsZones",
     "every record in the zone is lost: the private endpoints registered there stop resolving"},
    {"Microsoft.Network/privateDnsZones/virtualNetworkLinks",
     "the network stops resolving the zone's private endpoints"},
    {"Microsoft.Network/routeTables",
     "its subnets lose their routes: egress bypasses the firewall until it is back"},
    {"Microsoft.Network/routeTables/routes", "traffic to that prefix takes another path"},
    {"Microsoft.Network/networkSecurityGroups", "its subnets lose their security rules"},
    {"Microsoft.Network/natGateways", "outbound connections through it drop; its IP changes"},
    {"Microsoft.Network/privateEndpoints",
     "the service is unreachable privately until it is back; its private IP may change"},
    {"Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
     "the endpoint's DNS record is removed"},
    {"Microsoft.KeyVault/vaults",
     "the vault is soft-deleted with its keys: purge protection reserves its name for 90 days, "
     "and data encrypted with its keys cannot be read"},
    {"Microsoft.KeyVault/vaults/keys", "data encrypted with the old key needs it"},
    {"Microsoft.Storage/storageAccounts", "every blob and file in the account is lost"},
    {"Microsoft.Storage/storageAccounts/blobServices/containers",
     "every blob in the container is lost"},
    {"Microsoft.ContainerRegistry/registries", "every image in the registry is lost"},
    {"Microsoft.Databricks/workspaces",
     "the workspace's notebooks, jobs, clusters and DBFS root are lost; its URL changes"},
    {"Microsoft.Databricks/accessConnectors",
     "Unity Catalog storage credentials that use it stop working"},
    {"Microsoft.ManagedIdentity/userAssignedIdentities",
     "a new principal: the role assignments and federated credentials of the old one are lost"},
    {"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
     "the federated workload cannot sign in until it is back"},
    {"Microsoft.Authorization/roleAssignments",
     "the principal loses the role until it is granted again and propagated"},
    {"Microsoft.Insights/diagnosticSettings", "logs and metrics are not collected meanwhile"},
};

#define MAX_PROPS 8    /* property lines per node */
#define MAX_VALUE 60   /* characters of a value shown */

static const char *cost_of(const char *arm_type)
{
    for (size_t i = 0; arm_type && i < ZT_ARRAY_LEN(g_costs); i++)
        if (strcasecmp(g_costs[i].type, arm_type) == 0)
            return g_costs[i].cost;
    return "what the resource held is lost";
}

typedef struct explain {
    zt_comp_eval *ev;
    const zt_cty_value *prior;  /* state before the plan */
    zt_comp_eval *prior_ev;     /* bodies under the prior inputs, built on demand */
    zt_buf destroy, change;
    size_t n_destroy, n_change;
} explain;

/* "/properties/subnets/0/properties/addressPrefix" as
 * properties.subnets[AzureFirewallSubnet].properties.addressPrefix: array
 * elements by their name when they have one. */
static const char *readable_ptr(zt_arena *a, const json_t *body, const char *ptr)
{
    zt_buf b;
    zt_buf_init(&b, a);
    const json_t *cur = body;
    for (const char *p = ptr; *p == '/';) {
        const char *end = strchr(p + 1, '/');
        size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1);
        char *tok = zt_arena_strndup(a, p + 1, n);
        if (json_is_array(cur)) {
            cur = json_array_get(cur, (size_t)strtoul(tok, NULL, 10));
            const char *name = json_string_value(json_object_get(cur, "name"));
            zt_buf_printf(&b, "[%s]", name ? name : tok);
        } else {
            cur = json_object_get(cur, tok);
            zt_buf_printf(&b, "%s%s", b.len ? "." : "", tok);
        }
        p += n + 1;
    }
    return b.len ? zt_buf_cstr(&b) : "(the whole body)";
}

static const char *shown(zt_arena *a, const json_t *v)
{
    if (!v)
        return "(absent)";
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    const char *out = strlen(text) > MAX_VALUE
                          ? zt_arena_printf(a, "%.*s...", MAX_VALUE - 3, text)
                          : zt_arena_strdup(a, text);
    free(text);
    return out;
}

/* The node's body under the prior inputs (what the last apply sent), NULL
 * when it cannot be built. */
static json_t *prior_body(explain *x, const char *key)
{
    zt_comp_eval *ev = x->ev;
    if (!x->prior_ev) {
        x->prior_ev = zt_arena_alloc(ev->c->arena, sizeof(*x->prior_ev));
        zt_comp_eval_init(x->prior_ev, ev->c, ev->def, ev->s, x->prior, ZT_COMP_PLAN);
        x->prior_ev->subscription = ev->subscription;
        x->prior_ev->priv = ev->priv;
        if (zt_comp_graph_build(x->prior_ev) != ZT_OK)
            return NULL;
    }
    ssize_t i = zt_comp_graph_find(&x->prior_ev->graph, key);
    return i < 0 ? NULL : zt_comp_eval_body(x->prior_ev, &x->prior_ev->graph.inst[i]);
}

/* Drift the refresh found, or what the configuration changes: the prior
 * body sets the same value where the difference is drift. */
static const char *origin(explain *x, const zt_comp_inst *in, const zt_comp_rec *r,
                          const zt_comp_diff *d)
{
    if (!r->drift)
        return "configuration";
    if (r->hash && in->hash && strcmp(r->hash, in->hash) == 0)
        return "drift, will be repaired";
    json_t *pb = prior_body(x, in->key);
    const json_t *was = pb ? zt_comp_json_ptr(pb, d->ptr) : NULL;
    return was && json_equal((json_t *)was, (json_t *)d->want) ? "drift, will be repaired"
                                                               : "configuration";
}

/* "  properties.x "a" -> "b" (drift, will be repaired)" for each property
 * the update sets otherwise than Azure has it. */
static void update_lines(explain *x, const zt_comp_inst *in, const zt_comp_rec *r)
{
    zt_arena *a = x->ev->c->arena;
    zt_comp_diff diffs[MAX_PROPS];
    size_t total = 0, n = 0;
    /* What Azure has: the prior body where the last read found no drift. */
    const json_t *actual = zt_comp_rec_actual(a, r, r->outputs ? NULL : prior_body(x, in->key));
    const char *ps = json_string_value(zt_comp_json_ptr(actual, "/properties/provisioningState"));
    if (ps && strcasecmp(ps, "Failed") == 0)
        zt_buf_printf(&x->change, "\n    left Failed by an earlier operation: a PUT repairs it");
    if (in->body)
        n = zt_comp_diffs(a, in->def, in->body, actual, diffs, MAX_PROPS, &total);
    for (size_t i = 0; i < n; i++)
        zt_buf_printf(&x->change, "\n    %s %s -> %s (%s)", readable_ptr(a, in->body, diffs[i].ptr),
                      shown(a, diffs[i].have), shown(a, diffs[i].want), origin(x, in, r, &diffs[i]));
    if (total > n)
        zt_buf_printf(&x->change, "\n    ... and %zu more", total - n);
    if (!total && !ps)
        zt_buf_puts(&x->change, !r->hash || !*r->hash
                                    ? "\n    its last apply did not finish: it is applied again"
                                    : "\n    its body changed where Azure does not show it");
}

/* Why a node is replaced: a create-only property or its name. */
static const char *replace_reason(zt_arena *a, const zt_comp_inst *in, const zt_comp_rec *r)
{
    if (in->id && r->id && strcasecmp(in->id, r->id) != 0)
        return zt_arena_printf(a, "renamed (was %s)", strrchr(r->id, '/') + 1);
    json_t *co = in->body ? zt_comp_create_only(a, in->def, in->body) : NULL;
    const char *k;
    json_t *v;
    json_object_foreach(co, k, v)
    {
        json_t *was = json_object_get(r->create_only, k);
        if (!was || !json_equal(was, v))
            return zt_arena_printf(a, "%s %s -> %s cannot change in place",
                                   readable_ptr(a, in->body, k), shown(a, was), shown(a, v));
    }
    return "a property that cannot change in place changes";
}

static void destroy_line(explain *x, const char *key, const char *arm_type, const char *what)
{
    zt_buf_printf(&x->destroy, "\n  - %s (%s): %s; %s", key, arm_type ? arm_type : "?", what,
                  cost_of(arm_type));
    x->n_destroy++;
}

/* The parent (a dependency whose ID prefixes this one's) being replaced. */
static const char *replaced_parent(const zt_comp_eval *ev, const zt_comp_inst *in)
{
    for (size_t k = 0; k < in->n_deps; k++) {
        const zt_comp_inst *d = &ev->graph.inst[in->deps[k]];
        size_t n = d->id ? strlen(d->id) : 0;
        if (d->action == ZT_COMP_REPLACE && n && in->id && strncasecmp(in->id, d->id, n) == 0)
            return d->key;
    }
    return NULL;
}

static void node_lines(explain *x, zt_comp_inst *in)
{
    zt_arena *a = x->ev->c->arena;
    const zt_comp_rec *r = zt_comp_priv_get(&x->ev->priv, in->key);
    const char *type = in->def->arm_type;
    const char *parent = in->action == ZT_COMP_CREATE && r && r->exists
                             ? replaced_parent(x->ev, in) : NULL;
    if (in->action == ZT_COMP_CREATE && r && r->exists && r->id && in->id &&
        strcasecmp(r->id, in->id) != 0) {
        /* Created under the new ID first: nothing is lost in between. */
        zt_buf_printf(&x->destroy, "\n  - %s~%s (%s): moves to %s, created there before this "
                                   "one is deleted", in->key, r->id, type, in->id);
        x->n_destroy++;
        return;
    }
    if (in->action == ZT_COMP_REPLACE && r) {
        destroy_line(x, in->key, type,
                     zt_arena_printf(a, "replaced: %s", replace_reason(a, in, r)));
        return;
    }
    if (parent) {
        destroy_line(x, in->key, type,
                     zt_arena_printf(a, "deleted with %s and created again", parent));
        return;
    }
    x->n_change++;
    zt_buf_printf(&x->change, "\n  - %s (%s): ", in->key, type);
    if (in->action == ZT_COMP_UNKNOWN)
        zt_buf_puts(&x->change, "changes depending on values known only after apply");
    else if (in->action == ZT_COMP_CREATE)
        zt_buf_puts(&x->change, r && r->hash && *r->hash
                                    ? "deleted outside Terraform, created again" : "created");
    else {
        zt_buf_puts(&x->change, "updated in place");
        update_lines(x, in, r);
    }
}

const char *zt_comp_who(const zt_comp_eval *ev)
{
    const char *name = zt_comp_input_str(ev, "name");
    return name ? zt_arena_printf(ev->c->arena, "%s \"%s\"", ev->def->type_name, name)
                : ev->def->type_name;
}

void zt_comp_explain(zt_comp_eval *ev, const zt_cty_value *prior)
{
    zt_arena *a = ev->c->arena;
    explain x = {.ev = ev, .prior = prior};
    zt_buf_init(&x.destroy, a);
    zt_buf_init(&x.change, a);
    if (ev->shape_unknown)
        return;
    for (size_t i = 0; i < ev->graph.n; i++)
        if (ev->graph.inst[i].action != ZT_COMP_NONE)
            node_lines(&x, &ev->graph.inst[i]);
    for (size_t i = 0; i < ev->priv.n; i++) {
        const zt_comp_rec *r = &ev->priv.recs[i];
        if (!r->exists || zt_comp_graph_find(&ev->graph, r->key) >= 0)
            continue;
        const zt_comp_node_def *nd = zt_comp_def_node(ev->def, zt_comp_key_node(a, r->key));
        destroy_line(&x, r->key, nd ? nd->arm_type : NULL, "deleted");
    }
    if (x.n_destroy)
        zt_diag_warning(ev->c->diags, NULL,
                        zt_arena_printf(a, "%s: %zu underlying resource%s replaced or deleted",
                                        zt_comp_who(ev), x.n_destroy, x.n_destroy == 1 ? "" : "s"),
                        "This update deletes Azure resources (Terraform shows it as an update "
                        "in place of %s):%s\n\nunderlying_changes lists them as \"replace\" or "
                        "\"delete\"; see \"Plans in review and CI\" in the provider's README to "
                        "stop such plans in a pipeline.",
                        ev->def->type_name, zt_buf_cstr(&x.destroy));
    if (x.n_change)
        zt_diag_warning(ev->c->diags, NULL,
                        zt_arena_printf(a, "%s: %zu underlying resource%s change%s", zt_comp_who(ev),
                                        x.n_change, x.n_change == 1 ? "" : "s",
                                        x.n_change == 1 ? "s" : ""),
                        "Azure resources this update changes (property: in Azure -> planned):%s",
                        zt_buf_cstr(&x.change));
}
