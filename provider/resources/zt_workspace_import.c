/* zt_workspace_import.c - terraform import for
 * zerotrust_databricks_private_workspace: rebuild every input attribute
 * from ARM reads, starting at the Databricks workspace's ARM ID.
 *
 * Most inputs sit on the workspace itself (network, managed group,
 * encryption); the others are found from the resources the composite
 * names deterministically after the workspace (identities, endpoints,
 * diagnostic setting) or, for the globally named ones (Key Vault, storage,
 * registry), from what points at them (the CMK's vault URI, the Unity
 * Catalog identity, the endpoint subnet). Inputs that
 * cannot be read come back null and get their schema default from the
 * engine.
 */
#include "zt_workspace.h"

#include "zt_res.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct zt_ws_imp {
    zt_res_reader r;
    zt_call *c;
    const char *sub;    /* subscription ID */
    const char *rg_id;  /* /subscriptions/<s>/resourceGroups/<g> */
    const char *name;   /* the "name" input (dbw-<name>) */
    const char *ws_id;  /* the workspace's ARM ID */
    json_t *ws;         /* its GET body */
    const char *kv_id;  /* the Key Vault's ARM ID, NULL if not found */
    const char *pe_subnet; /* private_endpoint_subnet_id, NULL if not found */
    zt_res_inputs in;
} zt_ws_imp;

/* ---------------------------------------------------------------------
 * Reads.
 * ------------------------------------------------------------------- */

static json_t *zt_ws_imp_get(zt_ws_imp *m, const char *id)
{
    return zt_res_read(&m->r, id);
}

static json_t *zt_ws_imp_getf(zt_ws_imp *m, const char *fmt, const char *a, const char *b)
{
    return zt_ws_imp_get(m, zt_arena_printf(m->c->arena, fmt, a, b));
}

static json_t *zt_ws_imp_list(zt_ws_imp *m, const char *collection)
{
    return zt_res_read_list(&m->r, collection);
}

/* ---------------------------------------------------------------------
 * Small helpers.
 * ------------------------------------------------------------------- */

static const char *zt_ws_imp_last(const char *id)
{
    const char *slash = id ? strrchr(id, '/') : NULL;
    return slash ? slash + 1 : id;
}

static bool zt_ws_imp_eq(const char *x, const char *y)
{
    return x && y && strcasecmp(x, y) == 0;
}

/* A role definition ID (or bare GUID) names `role`. */
static bool zt_ws_imp_is_role(const json_t *ra, const char *role)
{
    return zt_ws_imp_eq(zt_ws_imp_last(zt_res_jstr(ra, "properties/roleDefinitionId")), role);
}

static const zt_cty_value *zt_ws_imp_str(zt_ws_imp *m, const char *s)
{
    return zt_res_str_or_null(m->c->arena, s);
}

static void zt_ws_imp_set(zt_ws_imp *m, const char *attr, const zt_cty_value *v)
{
    zt_res_inputs_set(&m->in, attr, v);
}

/* ---------------------------------------------------------------------
 * The import ID.
 * ------------------------------------------------------------------- */

static const zt_res_id_shape zt_ws_imp_shape = {
    "Microsoft.Databricks", "workspaces", "dbw-", "Databricks workspace",
    "zerotrust_databricks_private_workspace", "zerotrust_databricks_private_workspace"};

/* ---------------------------------------------------------------------
 * Enhanced security and compliance: each setting only when it differs
 * from its default (off; monitoring and updates follow the profile).
 * ------------------------------------------------------------------- */

static bool zt_ws_imp_on(const json_t *esc, const char *path)
{
    const char *v = zt_res_jstr(esc, path);
    return v && strcasecmp(v, "Enabled") == 0;
}

static void zt_ws_imp_compliance(zt_ws_imp *m)
{
    zt_arena *a = m->c->arena;
    const json_t *esc = zt_res_jget(m->ws, "properties/enhancedSecurityCompliance");
    bool csp = zt_ws_imp_on(esc, "complianceSecurityProfile/value");
    bool esm = zt_ws_imp_on(esc, "enhancedSecurityMonitoring/value");
    bool acu = zt_ws_imp_on(esc, "automaticClusterUpdate/value");
    if (csp)
        zt_ws_imp_set(m, "compliance_security_profile_enabled", zt_cty_bool(a, true));
    if (esm != csp)
        zt_ws_imp_set(m, "enhanced_security_monitoring_enabled", zt_cty_bool(a, esm));
    if (acu != csp)
        zt_ws_imp_set(m, "automatic_cluster_update_enabled", zt_cty_bool(a, acu));
    const json_t *std = zt_res_jget(esc, "complianceSecurityProfile/complianceStandards");
    size_t n = json_array_size(std), k = 0;
    const char **v = zt_arena_calloc(a, n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        if (json_string_value(json_array_get(std, i)))
            v[k++] = zt_arena_strdup(a, json_string_value(json_array_get(std, i)));
    if (k)
        zt_ws_imp_set(m, "compliance_standards", zt_res_string_set(a, v, k));
}

/* ---------------------------------------------------------------------
 * The workspace's own inputs.
 * ------------------------------------------------------------------- */

static const char *zt_ws_imp_param(const zt_ws_imp *m, const char *param)
{
    const char *path = zt_arena_printf(m->c->arena, "properties/parameters/%s/value", param);
    return zt_res_jstr(m->ws, path);
}

static void zt_ws_imp_workspace(zt_ws_imp *m, const char *rg)
{
    zt_arena *a = m->c->arena;
    zt_ws_imp_set(m, "name", zt_cty_string(a, m->name));
    zt_ws_imp_set(m, "resource_group_name", zt_cty_string(a, rg));
    zt_ws_imp_set(m, "location", zt_ws_imp_str(m, zt_res_jstr(m->ws, "location")));
    zt_ws_imp_set(m, "tags", zt_res_imp_tags(a, m->ws));
    zt_ws_imp_set(m, "virtual_network_id",
                  zt_ws_imp_str(m, zt_ws_imp_param(m, "customVirtualNetworkId")));
    zt_ws_imp_set(m, "host_subnet_name",
                  zt_ws_imp_str(m, zt_ws_imp_param(m, "customPublicSubnetName")));
    zt_ws_imp_set(m, "container_subnet_name",
                  zt_ws_imp_str(m, zt_ws_imp_param(m, "customPrivateSubnetName")));

    /* The managed group: left null (the engine then fills the default's
     * spelling) when it is rg-<name>-dbx-managed in any case, as ARM may
     * answer with another case than the one created. */
    const char *mrg = zt_ws_imp_last(zt_res_jstr(m->ws, "properties/managedResourceGroupId"));
    const char *def_mrg = zt_arena_printf(a, "rg-%s-dbx-managed", m->name);
    if (mrg && !zt_ws_imp_eq(mrg, def_mrg))
        zt_ws_imp_set(m, "managed_resource_group_name", zt_cty_string(a, mrg));
    json_t *infra = zt_res_jget(m->ws, "properties/parameters/requireInfrastructureEncryption/"
                                       "value");
    if (json_is_boolean(infra))
        zt_ws_imp_set(m, "infrastructure_encryption_enabled",
                      zt_cty_bool(a, json_is_true(infra)));
    zt_ws_imp_compliance(m);
}

/* ---------------------------------------------------------------------
 * Key Vault: the host of the CMK's vault URI (https://<vault>.vault...),
 * else the group's vault holding the Databricks key (phase two of CMK
 * never ran).
 * ------------------------------------------------------------------- */

static const char *zt_ws_imp_vault_from_uri(zt_ws_imp *m)
{
    const char *uri = zt_res_jstr(m->ws, "properties/encryption/entities/managedServices/"
                                         "keyVaultProperties/keyVaultUri");
    const char *host = uri && strstr(uri, "://") ? strstr(uri, "://") + 3 : NULL;
    size_t len = host ? strcspn(host, "./:") : 0;
    return len ? zt_arena_strndup(m->c->arena, host, len) : NULL;
}

static const char *zt_ws_imp_vault_by_key(zt_ws_imp *m)
{
    json_t *vaults = zt_ws_imp_list(m, zt_arena_printf(m->c->arena, "%s/providers/"
                                                       "Microsoft.KeyVault/vaults", m->rg_id));
    json_t *v;
    size_t i;
    json_array_foreach(vaults, i, v)
    {
        const char *id = zt_res_jstr(v, "id");
        if (id && zt_ws_imp_getf(m, "%s/keys/%s", id, ZT_WS_KEY_DBX))
            return zt_arena_strdup(m->c->arena, zt_ws_imp_last(id));
    }
    return NULL;
}

static void zt_ws_imp_vault(zt_ws_imp *m)
{
    const char *kv = zt_ws_imp_vault_from_uri(m);
    if (!kv)
        kv = zt_ws_imp_vault_by_key(m);
    zt_ws_imp_set(m, "key_vault_name", zt_ws_imp_str(m, kv));
    if (kv)
        m->kv_id = zt_arena_printf(m->c->arena, "%s/providers/Microsoft.KeyVault/vaults/%s",
                                   m->rg_id, kv);
}

/* ---------------------------------------------------------------------
 * Storage: the group's account encrypted through the Unity Catalog
 * identity (id-<name>-uc).
 * ------------------------------------------------------------------- */

static bool zt_ws_imp_uses_identity(const json_t *sa, const char *uai)
{
    const char *key;
    json_t *v;
    json_object_foreach(zt_res_jget(sa, "identity/userAssignedIdentities"), key, v)
    {
        if (zt_ws_imp_eq(key, uai))
            return true;
    }
    return false;
}

static const zt_cty_value *zt_ws_imp_containers(zt_ws_imp *m, const char *sa_id)
{
    zt_arena *a = m->c->arena;
    json_t *list = zt_ws_imp_list(m, zt_arena_printf(a, "%s/blobServices/default/containers",
                                                     sa_id));
    size_t n = json_array_size(list), k = 0, i;
    const zt_cty_value **vals = zt_arena_calloc(a, n + 1, sizeof(*vals));
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *cn = zt_res_jstr(item, "name");
        if (cn)
            vals[k++] = zt_cty_string(a, cn);
    }
    return zt_cty_set(a, &zt_cty_string_type, k, vals);
}

static void zt_ws_imp_storage(zt_ws_imp *m)
{
    zt_arena *a = m->c->arena;
    const char *uai = zt_arena_printf(a, "%s/providers/Microsoft.ManagedIdentity/"
                                         "userAssignedIdentities/id-%s-uc", m->rg_id, m->name);
    json_t *list = zt_ws_imp_list(m, zt_arena_printf(a, "%s/providers/Microsoft.Storage/"
                                                        "storageAccounts", m->rg_id));
    json_t *sa = NULL, *item;
    size_t i;
    json_array_foreach(list, i, item)
    {
        if (!sa && zt_ws_imp_uses_identity(item, uai))
            sa = item;
    }
    const char *sa_id = zt_res_jstr(sa, "id");
    zt_ws_imp_set(m, "storage_account_name", zt_ws_imp_str(m, zt_ws_imp_last(sa_id)));
    if (!sa_id)
        return;
    json_t *hns = zt_res_jget(sa, "properties/isHnsEnabled");
    if (json_is_boolean(hns))
        zt_ws_imp_set(m, "hierarchical_namespace_enabled", zt_cty_bool(a, json_is_true(hns)));
    zt_ws_imp_set(m, "storage_containers", zt_ws_imp_containers(m, sa_id));
}

/* ---------------------------------------------------------------------
 * Private endpoints: the vault's endpoint gives the subnet and the zones'
 * group; the registry is the one an endpoint in that subnet reaches.
 * ------------------------------------------------------------------- */

static const char *zt_ws_imp_pe_id(zt_ws_imp *m, const char *pe_name)
{
    return zt_arena_printf(m->c->arena, "%s/providers/Microsoft.Network/privateEndpoints/%s",
                           m->rg_id, pe_name);
}

/* Every private DNS zone of the group holding `zone_id`, name -> ID: the
 * hub's private_dns_zone_ids output, which configurations pass whole. */
static const zt_cty_value *zt_ws_imp_zone_map(zt_ws_imp *m, const char *zone_id)
{
    zt_arena *a = m->c->arena;
    const char *zrg = zt_res_rg_of(a, zone_id);
    json_t *list = zrg ? zt_ws_imp_list(m, zt_arena_printf(a, "%s/providers/Microsoft.Network/"
                                                               "privateDnsZones", zrg))
                       : NULL;
    if (json_array_size(list))
        return zt_res_name_id_map(a, list);
    if (!zone_id)
        return zt_cty_null(a, zt_cty_type_map(a, &zt_cty_string_type));
    /* the list failed: at least the zone we know */
    const char *key = zt_ws_imp_last(zone_id);
    const zt_cty_value *val = zt_cty_string(a, zone_id);
    return zt_cty_map(a, &zt_cty_string_type, 1, &key, &val);
}

static void zt_ws_imp_vault_endpoint(zt_ws_imp *m)
{
    const char *kv = zt_ws_imp_last(m->kv_id);
    const char *pe_id = kv ? zt_ws_imp_pe_id(m, zt_arena_printf(m->c->arena, "pe-%s-vault", kv))
                           : NULL;
    json_t *pe = zt_ws_imp_get(m, pe_id);
    json_t *group = pe ? zt_ws_imp_getf(m, "%s/privateDnsZoneGroups/%s", pe_id, "default") : NULL;
    const char *subnet = zt_res_jstr(pe, "properties/subnet/id");
    m->pe_subnet = subnet ? zt_arena_strdup(m->c->arena, subnet) : NULL;
    zt_ws_imp_set(m, "private_endpoint_subnet_id", zt_ws_imp_str(m, m->pe_subnet));
    const char *zone = zt_res_jstr(group, "properties/privateDnsZoneConfigs/0/properties/"
                                          "privateDnsZoneId");
    zt_ws_imp_set(m, "private_dns_zone_ids", zt_ws_imp_zone_map(m, zone));
}

static void zt_ws_imp_registry(zt_ws_imp *m)
{
    if (!m->pe_subnet)
        return;
    json_t *list = zt_ws_imp_list(m, zt_arena_printf(m->c->arena, "%s/providers/"
                                                     "Microsoft.Network/privateEndpoints",
                                                     m->rg_id));
    json_t *pe;
    size_t i;
    const char *found = NULL;
    json_array_foreach(list, i, pe)
    {
        const char *target = zt_res_jstr(pe, "properties/privateLinkServiceConnections/0/"
                                             "properties/privateLinkServiceId");
        if (!target || !strcasestr(target, "/providers/Microsoft.ContainerRegistry/registries/") ||
            !zt_ws_imp_eq(zt_res_jstr(pe, "properties/subnet/id"), m->pe_subnet))
            continue;
        if (found && !zt_ws_imp_eq(found, zt_ws_imp_last(target))) {
            /* nothing else ties a registry to its workspace */
            zt_diag_warning(m->c->diags, NULL, "Registry ambiguous",
                            "Private endpoints in %s reach several container registries (%s, "
                            "%s); the import took %s. If the configuration names another, the "
                            "next plan shows the change.", m->pe_subnet, found,
                            zt_ws_imp_last(target), found);
            break;
        }
        found = zt_ws_imp_last(target);
    }
    if (found)
        zt_ws_imp_set(m, "container_registry_name", zt_cty_string(m->c->arena, found));
}

static void zt_ws_imp_browser_auth(zt_ws_imp *m)
{
    const char *pe = zt_arena_printf(m->c->arena, "pe-dbw-%s-browser_authentication", m->name);
    zt_ws_imp_set(m, "browser_authentication_enabled",
                  zt_cty_bool(m->c->arena, zt_ws_imp_get(m, zt_ws_imp_pe_id(m, pe)) != NULL));
}

/* ---------------------------------------------------------------------
 * Identities, diagnostics and the optional grants.
 * ------------------------------------------------------------------- */

static const char *zt_ws_imp_identity_id(zt_ws_imp *m, const char *role)
{
    return zt_arena_printf(m->c->arena, "%s/providers/Microsoft.ManagedIdentity/"
                                        "userAssignedIdentities/id-%s-%s", m->rg_id, m->name, role);
}

static void zt_ws_imp_github(zt_ws_imp *m)
{
    json_t *fic = zt_ws_imp_getf(m, "%s/federatedIdentityCredentials/%s",
                                 zt_ws_imp_identity_id(m, "cicd"), ZT_WS_FIC_NAME);
    zt_ws_imp_set(m, "github_subject", zt_ws_imp_str(m, zt_res_jstr(fic, "properties/subject")));
}

static void zt_ws_imp_diag(zt_ws_imp *m)
{
    json_t *diag = zt_ws_imp_getf(m, "%s/providers/Microsoft.Insights/diagnosticSettings/%s",
                                  m->ws_id, ZT_WS_DIAG_NAME);
    zt_ws_imp_set(m, "log_analytics_workspace_id",
                  zt_ws_imp_str(m, zt_res_jstr(diag, "properties/workspaceId")));
}

/* The AzureDatabricks app's grant on the Databricks key: the key's Crypto
 * Service Encryption User assignment whose principal is not one of the
 * workspace's own identities (storage, managed disks), which have theirs. */
static void zt_ws_imp_databricks_app(zt_ws_imp *m)
{
    if (!m->kv_id)
        return;
    const char *key = zt_arena_printf(m->c->arena, "%s/keys/%s", m->kv_id, ZT_WS_KEY_DBX);
    const char *storage = zt_res_jstr(m->ws, "properties/storageAccountIdentity/principalId");
    const char *disk = zt_res_jstr(m->ws, "properties/managedDiskIdentity/principalId");
    json_t *list = zt_ws_imp_list(m, zt_arena_printf(m->c->arena, "%s/providers/"
                                                     "Microsoft.Authorization/roleAssignments",
                                                     key));
    json_t *ra;
    size_t i;
    json_array_foreach(list, i, ra)
    {
        const char *pid = zt_res_jstr(ra, "properties/principalId");
        /* ARM also lists inherited assignments: only the key's own count */
        if (!pid || !zt_ws_imp_is_role(ra, ZT_WS_ROLE_CRYPTO_USER) ||
            !zt_ws_imp_eq(zt_res_jstr(ra, "properties/scope"), key) ||
            zt_ws_imp_eq(pid, storage) || zt_ws_imp_eq(pid, disk))
            continue;
        zt_ws_imp_set(m, "azure_databricks_principal_id", zt_cty_string(m->c->arena, pid));
        return;
    }
}

/* The namespace the Functions identity may send to: the scope of its
 * Azure Service Bus Data Sender assignment, wherever it is. */
static void zt_ws_imp_service_bus(zt_ws_imp *m)
{
    json_t *func = zt_ws_imp_get(m, zt_ws_imp_identity_id(m, "func"));
    const char *pid = zt_res_jstr(func, "properties/principalId");
    if (!pid)
        return;
    json_t *list = zt_ws_imp_list(m, zt_arena_printf(m->c->arena, "/subscriptions/%s/providers/"
                                                     "Microsoft.Authorization/roleAssignments",
                                                     m->sub));
    json_t *ra;
    size_t i;
    json_array_foreach(list, i, ra)
    {
        const char *scope = zt_res_jstr(ra, "properties/scope");
        if (!scope || !zt_ws_imp_is_role(ra, ZT_WS_ROLE_SB_SENDER) ||
            !zt_ws_imp_eq(zt_res_jstr(ra, "properties/principalId"), pid))
            continue;
        zt_ws_imp_set(m, "service_bus_namespace_id", zt_cty_string(m->c->arena, scope));
        return;
    }
}

/* ---------------------------------------------------------------------
 * The hook.
 * ------------------------------------------------------------------- */

/* The workspace, and that it is ours: the composite's first node (the
 * Unity Catalog identity) beside it says so. */
static zt_rc zt_ws_imp_find(zt_ws_imp *m, const char *id)
{
    zt_call *c = m->c;
    size_t errors = c->diags->errors;
    m->ws = zt_ws_imp_get(m, m->ws_id);
    if (!m->ws)
        return c->diags->errors > errors
                   ? ZT_ERR_REMOTE
                   : zt_diag_error(c->diags, NULL, "Workspace not found",
                                   "The Databricks workspace %s does not exist.", id);
    if (!zt_ws_imp_get(m, zt_ws_imp_identity_id(m, "uc")))
        return c->diags->errors > errors
                   ? ZT_ERR_REMOTE
                   : zt_diag_error(c->diags, NULL, "Not a zerotrust_databricks_private_workspace",
                                   "%s has no identity id-%s-uc beside it in its resource group: "
                                   "it was not created by zerotrust_databricks_private_workspace.",
                                   id, m->name);
    return ZT_OK;
}

zt_rc zt_ws_import(zt_call *c, const zt_schema *s, const char *id,
                   json_t *(*get)(void *getter, const char *arm_id), void *getter,
                   const zt_cty_value **inputs)
{
    zt_arena *a = c->arena;
    zt_ws_imp m = {.r = {.c = c, .get = get, .getter = getter}, .c = c};
    const char *rg = NULL;
    size_t errors = c->diags->errors;
    zt_res_import_id pid;
    ZT_TRY(zt_res_parse_import_id(c, id, &zt_ws_imp_shape, &pid));
    m.sub = pid.sub;
    m.name = pid.name;
    rg = pid.rg;
    m.rg_id = pid.rg_id;
    m.ws_id = zt_arena_printf(a, "%s/providers/Microsoft.Databricks/workspaces/dbw-%s", m.rg_id,
                              m.name);
    zt_res_inputs_init(&m.in, a, s->type->n);
    ZT_TRY(zt_ws_imp_find(&m, id));

    zt_ws_imp_workspace(&m, rg);
    zt_ws_imp_vault(&m);
    zt_ws_imp_storage(&m);
    zt_ws_imp_vault_endpoint(&m);
    zt_ws_imp_registry(&m);
    zt_ws_imp_browser_auth(&m);
    zt_ws_imp_github(&m);
    zt_ws_imp_diag(&m);
    zt_ws_imp_databricks_app(&m);
    zt_ws_imp_service_bus(&m);
    /* public_network_access_enabled, shared_key_access_enabled: only
     * false is accepted, which the platform sets anyway: null. */

    /* Everything else (computed attributes, timeouts) null, in the
     * schema's attribute order. */
    *inputs = zt_res_inputs_object(a, s->type, &m.in);
    /* A GET that failed for another reason than 404 has said why. */
    return c->diags->errors > errors ? ZT_ERR_REMOTE : ZT_OK;
}
