/* zt_res.c - helpers shared by the composite resource definitions. */
#include "zt_res.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Bodies ------------------------------------------------------------ */

json_t *zt_res_ref(const char *id)
{
    return id ? json_pack("{s:s}", "id", id) : NULL;
}

json_t *zt_res_tracked(const zt_comp_eval *ev, json_t *properties)
{
    const char *location = zt_comp_input_str(ev, "location");
    json_t *tags = zt_comp_tags(ev);
    if (!location || !tags) {
        json_decref(tags);
        json_decref(properties);
        return NULL;
    }
    json_t *body = json_pack("{s:s,s:o}", "location", location, "tags", tags);
    if (properties)
        json_object_set_new(body, "properties", properties);
    return body;
}

json_t *zt_res_set(json_t *body, const char *key, json_t *v)
{
    if (!body || !v) {
        json_decref(body);
        json_decref(v);
        return NULL;
    }
    json_object_set_new(body, key, v);
    return body;
}

json_t *zt_res_diag_body(const char *workspace_id, unsigned what)
{
    if (!workspace_id)
        return NULL;
    json_t *p = json_pack("{s:s}", "workspaceId", workspace_id);
    if (what & ZT_RES_DIAG_LOGS) {
        json_t *logs = json_pack("[{s:s,s:b}]", "categoryGroup", "allLogs", "enabled", 1);
        if (what & ZT_RES_DIAG_AUDIT_OFF)
            json_array_append_new(logs, json_pack("{s:s,s:b}", "categoryGroup", "audit",
                                                  "enabled", 0));
        json_object_set_new(p, "logs", logs);
    }
    if (what & ZT_RES_DIAG_METRICS)
        json_object_set_new(p, "metrics",
                            json_pack("[{s:s,s:b}]", "category", "AllMetrics", "enabled", 1));
    if (what & ZT_RES_DIAG_DEDICATED)
        json_object_set_new(p, "logAnalyticsDestinationType", json_string("Dedicated"));
    return json_pack("{s:o}", "properties", p);
}

const char **zt_res_strings(const zt_comp_eval *ev, const char *attr, const char *const *fallback,
                            size_t n_fallback, size_t *n)
{
    const zt_cty_value *v = zt_comp_input(ev, attr);
    zt_arena *a = zt_comp_arena(ev);
    *n = 0;
    if (v && !v->is_null && !zt_cty_is_wholly_known(v))
        return NULL;
    bool dflt = !v || v->is_null;
    size_t count = dflt ? n_fallback : v->u.coll.n;
    const char **out = zt_arena_calloc(a, count + 1, sizeof(*out));
    for (size_t i = 0; i < count; i++)
        out[i] = dflt ? fallback[i] : v->u.coll.elems[i]->u.str.ptr;
    *n = count;
    return out;
}

/* ---- Names, address plan, outputs ------------------------------------- */

const char *zt_res_uuid(zt_arena *a, const char *text)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char *lower = zt_arena_strdup(a, text);
    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!EVP_Digest(lower, strlen(lower), md, &len, EVP_sha1(), NULL) || len < 16)
        return NULL;
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    return zt_arena_printf(a, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                           md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9],
                           md[10], md[11], md[12], md[13], md[14], md[15]);
}

const char *zt_res_named(const zt_comp_eval *ev, const char *prefix, const char *suffix)
{
    const char *name = zt_comp_input_str(ev, "name");
    return name ? zt_arena_printf(zt_comp_arena(ev), "%s%s%s", prefix, name, suffix) : NULL;
}

const zt_addrplan *zt_res_addrplan(zt_arena *a, const char *space, const char *layout)
{
    zt_addrplan_request req = {.address_space = space,
                               .address_space_unknown = space == NULL,
                               .layout = layout};
    zt_diags scratch;
    zt_addrplan *plan = NULL;
    zt_diags_init(&scratch, a);
    if (!space || zt_addrplan_compute(a, &req, &plan, &scratch) != ZT_OK)
        return NULL;
    return plan;
}

const char *zt_res_subnet_cidr(const zt_addrplan *plan, const char *name)
{
    for (size_t i = 0; plan && i < plan->n_subnets; i++)
        if (strcmp(plan->subnets[i].name, name) == 0)
            return plan->subnets[i].cidr;
    return NULL;
}

const zt_cty_value *zt_res_id_out(const zt_comp_eval *ev, const char *node)
{
    const char *id = zt_comp_id(ev, node);
    return id ? zt_cty_string(zt_comp_arena(ev), id) : NULL;
}

const zt_cty_value *zt_res_str_or_null(zt_arena *a, const char *s)
{
    return s ? zt_cty_string(a, s) : zt_cty_null(a, &zt_cty_string_type);
}

const zt_cty_value *zt_res_string_map(zt_arena *a, size_t n, const char *const *keys,
                                      const char *const *vals)
{
    const zt_cty_value **v = zt_arena_calloc(a, n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = zt_cty_string(a, vals[i]);
    return zt_cty_map(a, &zt_cty_string_type, n, keys, v);
}

const zt_cty_value *zt_res_out_subnet_ids(const zt_comp_eval *ev, const char *const *subnets,
                                          size_t n)
{
    zt_arena *a = zt_comp_arena(ev);
    const char *vnet = zt_comp_id(ev, "vnet");
    if (!vnet)
        return NULL;
    const char **ids = zt_arena_calloc(a, n + 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        ids[i] = zt_arena_printf(a, "%s/subnets/%s", vnet, subnets[i]);
    return zt_res_string_map(a, n, subnets, ids);
}

const zt_cty_value *zt_res_out_subnet_cidrs(const zt_comp_eval *ev, const char *layout,
                                            const char *const *subnets, size_t n)
{
    zt_arena *a = zt_comp_arena(ev);
    const zt_addrplan *plan = zt_res_addrplan(a, zt_comp_input_str(ev, "address_space"), layout);
    if (!plan)
        return NULL;
    const char **cidrs = zt_arena_calloc(a, n + 1, sizeof(*cidrs));
    for (size_t i = 0; i < n; i++)
        cidrs[i] = zt_res_subnet_cidr(plan, subnets[i]);
    return zt_res_string_map(a, n, subnets, cidrs);
}

/* ---- Plan-time checks ------------------------------------------------- */

zt_path *zt_res_path(const zt_res_check *k, const char *attr)
{
    return zt_path_attr(k->c->arena, NULL, attr);
}

const char *zt_res_known_str(const zt_cty_value *obj, const char *attr)
{
    const zt_cty_value *v = obj ? zt_cty_get_attr(obj, attr) : NULL;
    if (!v || v->is_null || !zt_cty_is_known(v) || v->type->kind != ZT_CTY_STRING)
        return NULL;
    return v->u.str.ptr;
}

bool zt_res_name_ok(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
            return false;
    return true;
}

void zt_res_check_rg_name(zt_res_check *k)
{
    const char *rg = zt_res_known_str(k->config, "resource_group_name");
    if (rg && (!zt_res_name_ok(rg, 90, "-_.()") || rg[strlen(rg) - 1] == '.'))
        zt_diag_error(k->c->diags, zt_res_path(k, "resource_group_name"),
                      "Invalid resource group name",
                      "\"%s\" is not a valid resource group name (1 to 90 letters, digits, "
                      "'-', '_', '.', '(' or ')', not ending with '.').", rg);
}

bool zt_res_id_ok(const char *id, const char *segment)
{
    if (!id || strncasecmp(id, "/subscriptions/", 15) != 0 || !strcasestr(id, "/resourceGroups/"))
        return false;
    for (const char *seg = id; *seg == '/';) {
        size_t n = strcspn(seg + 1, "/");
        if (n == 0 || (n == 1 && seg[1] == '.') || (n == 2 && seg[1] == '.' && seg[2] == '.'))
            return false;
        for (size_t i = 1; i <= n; i++)
            if (strchr("?#%", seg[i]) || isspace((unsigned char)seg[i]) ||
                iscntrl((unsigned char)seg[i]))
                return false;
        seg += n + 1;
    }
    if (!segment)
        return true;
    const char *at = strcasestr(id, segment);
    return at && at[strlen(segment)] != '\0' && at[strlen(segment)] != '/';
}

/* A tag by name, ignoring case as Azure (and Azure Policy's tags[name])
 * does. */
static const zt_cty_value *tag_get(const zt_cty_value *tags, const char *name, const char **key)
{
    for (size_t i = 0; !tags->is_null && i < tags->u.coll.n; i++)
        if (strcasecmp(tags->u.coll.keys[i], name) == 0) {
            *key = tags->u.coll.keys[i];
            return tags->u.coll.elems[i];
        }
    return NULL;
}

void zt_res_check_tags(zt_res_check *k)
{
    const zt_cty_value *tags = zt_cty_get_attr(k->config, "tags");
    const zt_provider_config *cfg = &k->c->provider->config;
    /* The provider's required_tags (its defaults when unset, none when
     * empty) are known only once it has been configured: validation may
     * run before, and must not demand tags the configuration may not. */
    if (!tags || !zt_cty_is_known(tags) || !atomic_load(&k->c->provider->configured))
        return;
    for (size_t i = 0; i < cfg->n_required_tags; i++) {
        const char *req = cfg->required_tags[i], *key = req;
        const zt_cty_value *v = tag_get(tags, req, &key);
        if (!v || v->is_null)
            zt_diag_error(k->c->diags, zt_res_path(k, "tags"), "Missing required tag",
                          "Every resource of the platform must carry the tag \"%s\" (the "
                          "provider's required_tags); add it to tags.", req);
        else if (zt_cty_is_known(v) && v->u.str.len == 0)
            zt_diag_error(k->c->diags, zt_path_key(k->c->arena, zt_res_path(k, "tags"), key),
                          "Empty required tag", "The required tag \"%s\" must not be empty.",
                          req);
    }
}

/* Azure regions (programmatic names) of the public, US Government and
 * China clouds. */
static const char *const zt_res_regions[] = {
    "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast",
    "austriaeast", "belgiumcentral", "brazilsouth", "brazilsoutheast", "canadacentral",
    "canadaeast", "centralindia", "centralus", "chilecentral", "eastasia", "eastus", "eastus2",
    "francecentral", "francesouth", "germanynorth", "germanywestcentral", "indonesiacentral",
    "israelcentral", "italynorth", "japaneast", "japanwest", "jioindiacentral", "jioindiawest",
    "koreacentral", "koreasouth", "malaysiawest", "mexicocentral", "newzealandnorth",
    "northcentralus", "northeurope", "norwayeast", "norwaywest", "polandcentral", "qatarcentral",
    "southafricanorth", "southafricawest", "southcentralus", "southeastasia", "southindia",
    "spaincentral", "swedencentral", "swedensouth", "switzerlandnorth", "switzerlandwest",
    "uaecentral", "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope", "westindia",
    "westus", "westus2", "westus3",
    "usgovarizona", "usgovtexas", "usgovvirginia", "usdodcentral", "usdodeast",
    "chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3",
};

bool zt_res_in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

const char *zt_res_join(zt_arena *a, const char *const *list)
{
    zt_buf b;
    zt_buf_init(&b, a);
    for (size_t i = 0; list[i]; i++)
        zt_buf_printf(&b, "%s\"%s\"", i ? ", " : "", list[i]);
    return zt_buf_cstr(&b);
}

void zt_res_check_enum(zt_res_check *k, const zt_cty_value *obj, const zt_path *base,
                       const char *attr, const char *const *allowed, const char *summary,
                       const char *what)
{
    const char *v = zt_res_known_str(obj, attr);
    if (v && !zt_res_in_list(allowed, v))
        zt_diag_error(k->c->diags, zt_path_attr(k->c->arena, base, attr), summary,
                      "\"%s\" is not a %s; use one of %s.", v, what,
                      zt_res_join(k->c->arena, allowed));
}

bool zt_res_region_known(const char *loc)
{
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_res_regions); i++)
        if (strcmp(zt_res_regions[i], loc) == 0)
            return true;
    return false;
}

void zt_res_check_location(zt_res_check *k)
{
    const char *loc = zt_res_known_str(k->config, "location");
    const zt_provider_config *cfg = &k->c->provider->config;
    if (!loc)
        return;
    if (!zt_res_region_known(loc)) {
        zt_diag_error(k->c->diags, zt_res_path(k, "location"), "Unknown Azure region",
                      "\"%s\" is not an Azure region's programmatic name. Use the lower-case "
                      "name without spaces, as `az account list-locations -o table` shows it "
                      "(e.g. \"westeurope\", not \"West Europe\").", loc);
        return;
    }
    if (zt_res_location_allowed(k, loc))
        return;
    zt_buf b;
    zt_buf_init(&b, k->c->arena);
    for (size_t i = 0; i < cfg->n_allowed_locations; i++)
        zt_buf_printf(&b, "%s\"%s\"", i ? ", " : "", cfg->allowed_locations[i]);
    zt_diag_error(k->c->diags, zt_res_path(k, "location"), "Region not allowed",
                  "\"%s\" is not one of the provider's allowed_locations (%s).", loc,
                  zt_buf_cstr(&b));
}

bool zt_res_location_allowed(const zt_res_check *k, const char *loc)
{
    const zt_provider_config *cfg = &k->c->provider->config;
    /* The provider's setting is known only once it has been configured
     * (validation may run before). */
    if (!atomic_load(&k->c->provider->configured) || cfg->n_allowed_locations == 0)
        return true;
    for (size_t i = 0; i < cfg->n_allowed_locations; i++)
        if (strcasecmp(cfg->allowed_locations[i], loc) == 0)
            return true;
    return false;
}

bool zt_res_dns_name_ok(const char *s, bool allow_upper)
{
    size_t label = 0, labels = 1, n = strlen(s);
    if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
            labels++;
        } else if ((islower(ch) || isdigit(ch) || (allow_upper && isupper(ch)) || ch == '-') &&
                   ++label <= 63) {
            continue;
        } else {
            return false;
        }
    }
    return labels >= 2;
}

bool zt_res_overlap(zt_ipv4_prefix x, zt_ipv4_prefix y)
{
    unsigned len = x.len < y.len ? x.len : y.len;
    uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
    return (x.addr & mask) == (y.addr & mask);
}

/* ---- What other resources hold ------------------------------------------ */

const char *zt_res_owner(zt_arena *a, const char *type_name, const char *name)
{
    return zt_arena_printf(a, "%s \"%s\"", type_name, name);
}

const char *zt_res_peers_scope(zt_arena *a, const char *hub_vnet_id)
{
    return zt_arena_printf(a, "peered-with:%s", hub_vnet_id);
}

bool zt_res_created_in_run(zt_call *c, const char *id)
{
    size_t n;
    const zt_comp_claim *made = zt_comp_claims(c, ZT_RES_CREATED_SCOPE, &n);
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(made[i].owner, id) == 0)
            return true;
    return false;
}

bool zt_res_cidr(zt_arena *a, const char *text, zt_ipv4_prefix *out)
{
    bool host_bits = false;
    const char *why = NULL;
    return text && zt_ipv4_parse_cidr(a, text, out, &host_bits, &why) == ZT_OK && !host_bits;
}

/* ---- Import ----------------------------------------------------------- */

void zt_res_inputs_init(zt_res_inputs *in, zt_arena *a, size_t cap)
{
    in->names = zt_arena_calloc(a, cap + 1, sizeof(*in->names));
    in->vals = zt_arena_calloc(a, cap + 1, sizeof(*in->vals));
    in->n = 0;
}

void zt_res_inputs_set(zt_res_inputs *in, const char *attr, const zt_cty_value *v)
{
    in->names[in->n] = attr;
    in->vals[in->n++] = v;
}

const zt_cty_value *zt_res_inputs_object(zt_arena *a, const zt_cty_type *t,
                                         const zt_res_inputs *in)
{
    const zt_cty_value **ordered = zt_arena_calloc(a, t->n + 1, sizeof(*ordered));
    for (size_t i = 0; i < t->n; i++) {
        ordered[i] = zt_cty_null(a, t->types[i]);
        for (size_t j = 0; j < in->n; j++)
            if (strcmp(t->names[i], in->names[j]) == 0)
                ordered[i] = in->vals[j];
    }
    return zt_cty_object(a, t, ordered);
}

json_t *zt_res_jget(const json_t *doc, const char *path)
{
    json_t *cur = (json_t *)doc;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *save = NULL, *tok = strtok_r(buf, "/", &save); cur && tok;
         tok = strtok_r(NULL, "/", &save))
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(tok))
                                 : json_object_get(cur, tok);
    return cur;
}

const char *zt_res_jstr(const json_t *doc, const char *path)
{
    json_t *v = zt_res_jget(doc, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const zt_cty_value *zt_res_imp_tags(zt_arena *a, const json_t *resource)
{
    const json_t *tags = json_object_get(resource, "tags");
    size_t n = json_object_size(tags), i = 0;
    const char **keys = zt_arena_calloc(a, n + 1, sizeof(*keys));
    const zt_cty_value **vals = zt_arena_calloc(a, n + 1, sizeof(*vals));
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)tags, k, v)
    {
        keys[i] = zt_arena_strdup(a, k);
        vals[i++] = zt_cty_string(a, json_is_string(v) ? json_string_value(v) : "");
    }
    return zt_cty_map(a, &zt_cty_string_type, i, keys, vals);
}

/* ---- import reads ------------------------------------------------------ */

#define ZT_RES_MAX_PAGES 200 /* a bound on nextLink chains */

zt_rc zt_res_parse_import_id(zt_call *c, const char *id, const zt_res_id_shape *shape,
                             zt_res_import_id *out)
{
    return zt_res_parse_id(c, id, shape, NULL, "Invalid import ID", out);
}

zt_rc zt_res_parse_id(zt_call *c, const char *id, const zt_res_id_shape *shape,
                      const zt_path *path, const char *summary, zt_res_import_id *out)
{
    const char *fixed[] = {"subscriptions", NULL, "resourceGroups", NULL, "providers",
                           shape->ns, shape->type, NULL};
    const char *seg[ZT_ARRAY_LEN(fixed)];
    size_t n = 0;
    char *copy = zt_arena_strdup(c->arena, id ? id : "");
    bool ok = copy[0] == '/';
    for (char *save = NULL, *t = strtok_r(copy + ok, "/", &save); ok && t;
         t = strtok_r(NULL, "/", &save)) {
        ok = n < ZT_ARRAY_LEN(fixed) && (!fixed[n] || strcasecmp(t, fixed[n]) == 0);
        if (ok)
            seg[n++] = t;
    }
    /* no empty segment ("//"), no trailing slash, all eight segments */
    ok = ok && n == ZT_ARRAY_LEN(fixed) && !strstr(id, "//") && id[strlen(id) - 1] != '/';
    size_t pn = strlen(shape->prefix);
    if (!ok)
        return zt_diag_error(c->diags, path, summary,
                             "\"%s\" is not the ID of a %s (/subscriptions/<id>/resourceGroups/"
                             "<group>/providers/%s/%s/%s<name>).", id ? id : "", shape->what,
                             shape->ns, shape->type, shape->prefix);
    if (strncmp(seg[7], shape->prefix, pn) != 0 || seg[7][pn] == '\0')
        return zt_diag_error(c->diags, path, zt_arena_printf(c->arena, "Not a %s", shape->not_ours),
                             "The %s is named %s<name>; \"%s\" was not created by %s.", shape->what,
                             shape->prefix, seg[7], shape->composite);
    out->sub = seg[1];
    out->rg = seg[3];
    out->rg_id = zt_arena_printf(c->arena, "/subscriptions/%s/resourceGroups/%s", seg[1], seg[3]);
    out->name = seg[7] + pn;
    return ZT_OK;
}

json_t *zt_res_read(const zt_res_reader *r, const char *id)
{
    return id ? r->get(r->getter, id) : NULL;
}

static void zt_res_json_release(void *p) { json_decref(p); }

json_t *zt_res_read_list(const zt_res_reader *r, const char *collection)
{
    json_t *page = zt_res_read(r, collection);
    if (!page)
        return NULL;
    json_t *all = json_array();
    zt_arena_on_free(r->c->arena, zt_res_json_release, all);
    for (int n = 1;; n++) {
        json_array_extend(all, json_object_get(page, "value"));
        const char *next = zt_res_jstr(page, "nextLink");
        if (!next || !*next || n == ZT_RES_MAX_PAGES)
            return all;
        page = zt_res_read(r, zt_arena_strdup(r->c->arena, next));
    }
}

const char *zt_res_role_definition_id(zt_arena *a, const char *scope, const char *sub,
                                      const char *role)
{
    static const char pre[] = "/subscriptions/";
    if (!scope || !role)
        return NULL;
    if (strncasecmp(scope, pre, sizeof(pre) - 1) != 0)
        return zt_arena_printf(a, "/providers/Microsoft.Authorization/roleDefinitions/%s", role);
    const char *s = scope + sizeof(pre) - 1;
    size_t n = strcspn(s, "/");
    /* the provider's spelling of its own subscription keeps the
     * create-only values recorded before unchanged */
    if (!sub || strlen(sub) != n || strncasecmp(s, sub, n) != 0)
        sub = zt_arena_strndup(a, s, n);
    return zt_arena_printf(a, "/subscriptions/%s/providers/Microsoft.Authorization/"
                              "roleDefinitions/%s", sub, role);
}

const char *zt_res_rg_of(zt_arena *a, const char *id)
{
    const char *p = id ? strcasestr(id, "/resourceGroups/") : NULL;
    const char *end = p ? strchr(p + 16, '/') : NULL;
    return end ? zt_arena_strndup(a, id, (size_t)(end - id)) : NULL;
}

const zt_cty_value *zt_res_string_set(zt_arena *a, const char *const *v, size_t n)
{
    const zt_cty_value **e = zt_arena_calloc(a, n + 1, sizeof(*e));
    for (size_t i = 0; i < n; i++)
        e[i] = zt_cty_string(a, v[i]);
    return zt_cty_set(a, &zt_cty_string_type, n, e);
}

const zt_cty_value *zt_res_name_id_map(zt_arena *a, const json_t *items)
{
    size_t n = json_array_size(items), k = 0, i;
    const char **keys = zt_arena_calloc(a, n + 1, sizeof(*keys));
    const zt_cty_value **vals = zt_arena_calloc(a, n + 1, sizeof(*vals));
    const json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *name = zt_res_jstr(item, "name"), *id = zt_res_jstr(item, "id");
        if (!name || !id)
            continue;
        keys[k] = zt_arena_strdup(a, name);
        vals[k++] = zt_cty_string(a, id);
    }
    return zt_cty_map(a, &zt_cty_string_type, k, keys, vals);
}
