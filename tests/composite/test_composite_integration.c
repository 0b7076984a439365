/* The composite engine against the local ARM emulator (tests/emulator):
 * a 4-node test composite (VNet, NSG, subnets, public IP) is applied with
 * parallelism, a fault gives a partial state that the next apply resumes,
 * refresh finds drift that the next plan repairs, a node no longer enabled
 * is deleted, import rebuilds the state, and destroy leaves nothing.
 *
 * Run through tests/arm/run_with_emulator.py (ZT_EMULATOR_JSON). */
#include "zt_comp_internal.h"

#include "zt_test_composite.h"

#include "zt_test.h"

#include <check.h>
#include "zt_test_emulator.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static zt_arena *A;
static zt_diags D;
static zt_call C;
static zt_provider *P;
static zt_schema *S;

static zt_test_emulator g_emu;


static void json_release(void *p) { json_decref(p); }

/* A control API call (/__emulator/...); the parsed answer, kept in A. */
static json_t *kept(json_t *j)
{
    if (j)
        zt_arena_on_free(A, json_release, j);
    return j;
}
#define ctl(method, path, ...) kept(zt_test_emulator_ctlf(&g_emu, method, path, __VA_ARGS__))

/* How many resources the emulator holds whose ARM ID contains needle (all:
 * NULL), resource groups excepted; their IDs in *ids (may be NULL). */
static size_t store_list(const char *needle, const char **ids)
{
    json_t *st = ctl("GET", "/store", NULL);
    size_t n = 0, i;
    json_t *r;
    zt_buf b;
    zt_buf_init(&b, A);
    json_array_foreach(json_object_get(st, "resources"), i, r)
    {
        const char *type = json_string_value(json_object_get(r, "type"));
        const char *id = json_string_value(json_object_get(r, "id"));
        if (strcasecmp(type, "Microsoft.Resources/resourceGroups") == 0)
            continue;
        if (!needle || strcasestr(id, needle)) {
            zt_buf_printf(&b, "%s%s", n ? ", " : "", id);
            n++;
        }
    }
    if (ids)
        *ids = n ? zt_buf_cstr(&b) : "none";
    return n;
}

/* The emulator holds `want` resources matching needle; else the failure
 * names those it holds. */
#define assert_store(needle, want)                                                             \
    do {                                                                                       \
        const char *ids_;                                                                      \
        size_t n_ = store_list(needle, &ids_);                                                 \
        ck_assert_msg(n_ == (size_t)(want), "%zu resources%s%s in the emulator, not %zu: %s",  \
                      n_, (needle) ? " matching " : "", (needle) ? (const char *)(needle) : "", \
                      (size_t)(want), ids_);                                                   \
    } while (0)

/* Every resource deleted behind the provider's back, children first. */
static void delete_everything(void)
{
    json_t *st = ctl("GET", "/store", NULL);
    json_t *res = json_object_get(st, "resources");
    for (size_t k = json_array_size(res); k-- > 0;) {
        json_t *r = json_array_get(res, k);
        const char *type = json_string_value(json_object_get(r, "type"));
        if (strcasecmp(type, "Microsoft.Resources/resourceGroups") != 0)
            ctl("POST", "/drift", "{\"id\":\"%s\",\"action\":\"delete\"}",
                json_string_value(json_object_get(r, "id")));
    }
}

static const char *diag_text(void)
{
    zt_buf b;
    zt_buf_init(&b, A);
    for (zt_diag *d = D.head; d; d = d->next)
        zt_buf_printf(&b, "[%s: %s] ", d->summary, d->detail ? d->detail : "");
    return zt_buf_cstr(&b);
}

static void setup(void)
{
    A = zt_arena_new();
    zt_diags_init(&D, A);
    ctl("POST", "/reset", NULL);
    ctl("POST", "/config", "{\"time_scale\":0.001}");
    P = zt_provider_new();
    P->config = (zt_provider_config){
        .tenant_id = g_emu.tenant,
        .subscription_id = g_emu.sub,
        .client_id = g_emu.client,
        .client_secret = g_emu.secret,
        .resource_manager_endpoint = g_emu.url,
        .authority_host = g_emu.url,
        .ca_bundle_path = g_emu.ca,
    };
    P->terraform_version = "1.9.8";
    atomic_store(&P->configured, true);
    C = (zt_call){.arena = A, .diags = &D, .provider = P};
    ck_assert_int_eq(zt_schema_parse(A, zt_test_schema_json, strlen(zt_test_schema_json), &S, &D),
                     ZT_OK);
    /* test timings: fast polls and retries (the emulator runs at 1/1000) */
    zt_arm_client_options o = {.config = &P->config, .default_timeout_ms = 120000,
                               .retry_base_ms = 50, .retry_cap_ms = 1000,
                               .poll_interval_ms = 100, .min_poll_interval_ms = 10,
                               .cancel = &P->stop_requested};
    ck_assert_int_eq(zt_arm_client_new(&o, &D, &P->arm), ZT_OK);
    zt_arm_req req = {.method = ZT_ARM_PUT,
                      .path = zt_arena_printf(A, "/subscriptions/%s/resourceGroups/rg1", g_emu.sub)};
    json_t *b = json_pack("{s:s}", "location", "westeurope");
    req.body = b;
    zt_arm_resp resp;
    ck_assert_int_eq(zt_arm_do(P->arm, A, &req, &resp), ZT_OK);
    json_decref(b);
}

/* Providers live for the process in the plugin; tests release theirs. */
static void provider_free(zt_provider *p)
{
    zt_arena_free(p->arena);
    free(p);
}

static void teardown(void)
{
    zt_arm_client_free(P->arm);
    provider_free(P);
    zt_arena_free(A);
}

static const zt_cty_value *cfg(const char *subnets, const char *extra)
{
    const char *json = zt_arena_printf(
        A,
        "{\"name\":\"t1\",\"resource_group_name\":\"rg1\",\"location\":\"westeurope\","
        "\"address_space\":\"10.0.0.0/16\",\"subnets\":%s,\"tags\":{\"owner\":\"me\"}%s%s}",
        subnets, extra ? "," : "", extra ? extra : "");
    const zt_cty_value *v = NULL;
    ck_assert_msg(zt_cty_json_decode(A, json, strlen(json), S->type, false, &v, &D) == ZT_OK,
                  "%s", diag_text());
    return v;
}

#define TWO "{\"a\":\"10.0.1.0/24\",\"b\":\"10.0.2.0/24\"}"
#define THREE "{\"a\":\"10.0.1.0/24\",\"b\":\"10.0.2.0/24\",\"c\":\"10.0.3.0/24\"}"

typedef struct tf_state {
    const zt_cty_value *state;
    const void *priv;
    size_t priv_len;
} tf_state;

/* Terraform's proposed value: config, prior values for unset computed. */
static const zt_cty_value *proposed(const zt_cty_value *prior, const zt_cty_value *config)
{
    static const char *const computed[] = {"id", "vnet_guid", "underlying_resources",
                                           "underlying_changes"};
    if (!prior || prior->is_null)
        return config;
    const zt_cty_value *v = config;
    for (size_t i = 0; i < ZT_ARRAY_LEN(computed); i++)
        v = zt_comp_set_attr(A, v, computed[i], zt_cty_get_attr(prior, computed[i]));
    return v;
}

static zt_comp_plan_resp plan(const tf_state *st, const zt_cty_value *config)
{
    zt_comp_plan_req req = {.prior = st->state, .proposed = proposed(st->state, config),
                            .config = config, .prior_private = st->priv,
                            .prior_private_len = st->priv_len};
    zt_comp_plan_resp resp;
    ck_assert_msg(zt_comp_plan(&C, &zt_test_composite, S, &req, &resp) == ZT_OK, "plan: %s",
                  diag_text());
    return resp;
}

static zt_rc apply(tf_state *st, const zt_cty_value *config)
{
    zt_comp_plan_resp p = plan(st, config);
    zt_comp_apply_req req = {.prior = st->state, .planned = p.planned, .config = config,
                             .planned_private = p.planned_private,
                             .planned_private_len = p.planned_private_len};
    zt_comp_state out;
    zt_rc rc = zt_comp_apply(&C, &zt_test_composite, S, &req, &out);
    if (rc == ZT_OK) {
        /* plugin-protocol §4.4: known planned values come back unchanged */
        ck_assert(out.state && zt_cty_is_wholly_known(out.state));
        if (!p.planned->is_null) {
            const char *attrs[] = {"id", "underlying_resources", "name", "subnets", "tags"};
            for (size_t i = 0; i < ZT_ARRAY_LEN(attrs); i++)
                ck_assert_msg(zt_cty_equal(zt_cty_get_attr(p.planned, attrs[i]),
                                           zt_cty_get_attr(out.state, attrs[i])),
                              "%s changed after apply", attrs[i]);
        }
    }
    if (out.state) {
        st->state = out.state;
        st->priv = out.private_data;
        st->priv_len = out.private_len;
    }
    return rc;
}

static void refresh(tf_state *st)
{
    zt_comp_state out;
    ck_assert_msg(zt_comp_read(&C, &zt_test_composite, S, st->state, st->priv, st->priv_len,
                               &out) == ZT_OK,
                  "read: %s", diag_text());
    st->state = out.state;
    st->priv = out.private_data;
    st->priv_len = out.private_len;
}

/* The planned action of a node: absent from a known map means "none". */
static const char *change(const zt_comp_plan_resp *p, const char *key)
{
    const zt_cty_value *m = zt_cty_get_attr(p->planned, "underlying_changes");
    if (!m || m->is_unknown || m->is_null)
        return "?";
    const zt_cty_value *v = zt_cty_map_get(m, key);
    return !v ? "none" : !v->is_unknown && !v->is_null ? v->u.str.ptr : "?";
}

static void assert_clean(const tf_state *st, const zt_cty_value *config)
{
    zt_comp_plan_resp p = plan(st, config);
    ck_assert_msg(zt_cty_equal(p.planned, st->state), "the plan after apply is not empty");
}

static zt_comp_rec *rec(const tf_state *st, const char *key)
{
    zt_comp_priv pv;
    ck_assert_int_eq(zt_comp_priv_decode(A, &D, st->priv, st->priv_len, &pv), ZT_OK);
    return zt_comp_priv_get(&pv, key);
}

/* [start, end] of the first recorded PUT whose path ends with suffix. */
static bool put_span(json_t *log, const char *suffix, double *start, double *end)
{
    size_t i, n = strlen(suffix);
    json_t *e;
    json_array_foreach(json_object_get(log, "value"), i, e)
    {
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *m = json_string_value(json_object_get(e, "method"));
        size_t pl = path ? strlen(path) : 0;
        if (!m || strcmp(m, "PUT") != 0 || pl < n || strcasecmp(path + pl - n, suffix) != 0)
            continue;
        *end = json_number_value(json_object_get(e, "ts"));
        *start = *end - json_number_value(json_object_get(e, "duration_ms")) / 1000.0;
        return true;
    }
    return false;
}

/* The VNet, NSG and IP PUTs (each held 1 s by a latency fault) ran at the
 * same time; the subnets started only once the VNet and NSG were done. */
static void assert_parallel(void)
{
    json_t *log = ctl("GET", "/requests?kind=arm", NULL);
    const char *top[] = {"/t1-vnet", "/t1-nsg", "/t1-pip"};
    double s[3], e[3], ss, se, latest_start = 0, earliest_end = 1e300;
    for (size_t i = 0; i < 3; i++) {
        ck_assert_msg(put_span(log, top[i], &s[i], &e[i]), "no PUT of %s", top[i]);
        latest_start = s[i] > latest_start ? s[i] : latest_start;
        earliest_end = e[i] < earliest_end ? e[i] : earliest_end;
    }
    ck_assert_msg(latest_start < earliest_end, "the top-level PUTs did not overlap");
    ck_assert(put_span(log, "/subnets/a", &ss, &se));
    ck_assert_msg(ss >= e[0] && ss >= e[1], "a subnet started before its dependencies");
}

static double now_s(void) { return (double)zt_arm_now_ms() / 1000.0; }

START_TEST(lifecycle)
{
    tf_state st = {0};
    const zt_cty_value *two = cfg(TWO, NULL);

    /* 1. create: VNet, NSG and public IP at once, then the subnets. With
     * one emulated second of latency on each top-level PUT, a serial
     * apply would need at least three. */
    ctl("POST", "/faults", "[{\"kind\":\"latency\",\"method\":\"PUT\",\"seconds\":1,"
                          "\"path_regex\":\"/(virtualNetworks/t1-vnet|networkSecurityGroups/"
                          "t1-nsg|publicIPAddresses/t1-pip)$\",\"count\":3}]");
    double t0 = now_s();
    ck_assert_msg(apply(&st, two) == ZT_OK, "apply: %s", diag_text());
    double took = now_s() - t0;
    fprintf(stderr, "first apply: %.2f s\n", took);
    assert_parallel();
    assert_store(NULL, 5);
    ck_assert_str_eq(zt_cty_get_attr(st.state, "id")->u.str.ptr,
                     zt_arena_printf(A, "/subscriptions/%s/resourceGroups/rg1/providers/"
                                        "Microsoft.Network/virtualNetworks/t1-vnet", g_emu.sub));
    ck_assert(!zt_cty_get_attr(st.state, "vnet_guid")->is_null);
    refresh(&st);
    ck_assert_msg(!rec(&st, "vnet")->drift && !rec(&st, "subnet[a]")->drift, "false drift");
    assert_clean(&st, two);

    /* 2. a failure: the VNet update is refused; the NSG and IP updates in
     * flight finish, the subnets (which wait for the VNet) never start. */
    ctl("DELETE", "/faults", NULL);
    ctl("POST", "/faults", "{\"kind\":\"error\",\"method\":\"PUT\",\"status\":400,"
                           "\"code\":\"InjectedFailure\",\"message\":\"no VNet today\","
                           "\"path_regex\":\"/virtualNetworks/t1-vnet$\",\"count\":1}");
    const zt_cty_value *retag = cfg(THREE, "\"nsg_enabled\":true");
    retag = zt_comp_set_attr(A, retag, "tags", zt_cty_get_attr(cfg(THREE, NULL), "tags"));
    retag = zt_comp_set_attr(A, retag, "address_space", zt_cty_string(A, "10.0.0.0/15"));
    ck_assert_int_ne(apply(&st, retag), ZT_OK);
    const char *msg = diag_text();
    ck_assert_msg(strstr(msg, "vnet") && strstr(msg, "InjectedFailure") &&
                      strstr(msg, "/virtualNetworks/t1-vnet"),
                  "%s", msg);
    ck_assert_ptr_null(rec(&st, "subnet[c]"));
    assert_store("/subnets/c", 0);
    ck_assert_str_eq(rec(&st, "vnet")->hash, "");
    /* resume */
    zt_diags_init(&D, A);
    zt_comp_plan_resp p = plan(&st, retag);
    ck_assert_str_eq(change(&p, "vnet"), "update");
    ck_assert_str_eq(change(&p, "subnet[c]"), "create");
    ck_assert_str_eq(change(&p, "pip"), "none");
    ck_assert_msg(apply(&st, retag) == ZT_OK, "resume: %s", diag_text());
    assert_store("/subnets/", 3); /* the VNet update kept its subnets */
    refresh(&st);
    assert_clean(&st, retag);

    /* 3. drift: a tag changed and the NSG deleted behind our back */
    const char *vnet_id = zt_cty_map_get(zt_cty_get_attr(st.state, "underlying_resources"),
                                         "vnet")->u.str.ptr;
    const char *pip_id = zt_cty_map_get(zt_cty_get_attr(st.state, "underlying_resources"),
                                        "pip")->u.str.ptr;
    ctl("POST", "/drift", "{\"id\":\"%s\",\"set\":{\"tags.owner\":\"someone-else\"}}", vnet_id);
    ctl("POST", "/drift", "{\"id\":\"%s\",\"action\":\"delete\"}", pip_id);
    const char *sb_id = zt_cty_map_get(zt_cty_get_attr(st.state, "underlying_resources"),
                                       "subnet[b]")->u.str.ptr;
    ctl("POST", "/drift", "{\"id\":\"%s\",\"action\":\"state\",\"state\":\"Failed\"}", sb_id);
    refresh(&st);
    ck_assert(rec(&st, "vnet")->drift);
    ck_assert(!rec(&st, "pip")->exists);
    ck_assert(rec(&st, "subnet[b]")->drift);
    p = plan(&st, retag);
    ck_assert_str_eq(change(&p, "vnet"), "update");
    ck_assert_str_eq(change(&p, "pip"), "create");
    ck_assert_str_eq(change(&p, "subnet[b]"), "update");
    ck_assert_str_eq(change(&p, "subnet[a]"), "none");
    ck_assert_msg(apply(&st, retag) == ZT_OK, "repair: %s", diag_text());
    refresh(&st);
    assert_clean(&st, retag);

    /* 4. a node no longer enabled: subnets drop the NSG first, then it goes */
    const zt_cty_value *no_nsg = zt_comp_set_attr(A, retag, "nsg_enabled", zt_cty_bool(A, false));
    p = plan(&st, no_nsg);
    ck_assert_str_eq(change(&p, "nsg"), "delete");
    ck_assert_msg(apply(&st, no_nsg) == ZT_OK, "disable: %s", diag_text());
    assert_store("networkSecurityGroups", 0);
    ck_assert_ptr_null(rec(&st, "nsg"));
    refresh(&st);
    assert_clean(&st, no_nsg);

    /* 5. import rebuilds an equivalent state */
    zt_comp_state imp;
    ck_assert_msg(zt_comp_import(&C, &zt_test_composite, S, vnet_id, &imp) == ZT_OK, "import: %s",
                  diag_text());
    tf_state ist = {.state = imp.state, .priv = imp.private_data, .priv_len = imp.private_len};
    p = plan(&ist, no_nsg);
    ck_assert_str_eq(change(&p, "vnet"), "none");
    ck_assert_str_eq(change(&p, "subnet[c]"), "none");
    ck_assert_str_eq(change(&p, "pip"), "none");

    /* 6. destroy: reverse order, nothing left */
    zt_comp_apply_req dreq = {.prior = st.state, .planned = zt_cty_null(A, S->type),
                              .planned_private = st.priv, .planned_private_len = st.priv_len};
    zt_comp_state out;
    ck_assert_msg(zt_comp_apply(&C, &zt_test_composite, S, &dreq, &out) == ZT_OK, "destroy: %s",
                  diag_text());
    ck_assert(out.state->is_null);
    assert_store(NULL, 0);
}
END_TEST

START_TEST(destroy_failure_keeps_state_and_only_nothing_is_gone)
{
    tf_state st = {0};
    const zt_cty_value *two = cfg(TWO, NULL);
    ck_assert_msg(apply(&st, two) == ZT_OK, "apply: %s", diag_text());
    /* a failed delete keeps what still exists */
    ctl("POST", "/faults", "{\"kind\":\"error\",\"method\":\"DELETE\",\"status\":409,"
                           "\"code\":\"InjectedConflict\",\"message\":\"busy\","
                           "\"path_regex\":\"/publicIPAddresses/t1-pip$\",\"count\":1}");
    zt_comp_apply_req dreq = {.prior = st.state, .planned = zt_cty_null(A, S->type),
                              .planned_private = st.priv, .planned_private_len = st.priv_len};
    zt_comp_state out;
    ck_assert_int_ne(zt_comp_apply(&C, &zt_test_composite, S, &dreq, &out), ZT_OK);
    ck_assert_msg(strstr(diag_text(), "InjectedConflict") && strstr(diag_text(), "pip"), "%s",
                  diag_text());
    ck_assert(out.state && !out.state->is_null);
    st.priv = out.private_data;
    st.priv_len = out.private_len;
    ck_assert(rec(&st, "pip")->exists);
    assert_store("publicIPAddresses", 1);
    /* the VNet (id node) deleted behind our back: the pip still exists,
     * so the composite is not gone and keeps tracking it */
    zt_diags_init(&D, A);
    ctl("POST", "/drift", "{\"id\":\"%s\",\"action\":\"delete\"}",
        zt_cty_get_attr(st.state, "id")->u.str.ptr);
    refresh(&st);
    ck_assert(!st.state->is_null);
    ck_assert(rec(&st, "pip")->exists);
    /* a second destroy with the kept state finishes the job */
    dreq.prior = st.state;
    dreq.planned_private = st.priv;
    dreq.planned_private_len = st.priv_len;
    ck_assert_msg(zt_comp_apply(&C, &zt_test_composite, S, &dreq, &out) == ZT_OK, "%s",
                  diag_text());
    assert_store(NULL, 0);
    /* everything deleted behind our back: now it is gone */
    st = (tf_state){0};
    ck_assert_msg(apply(&st, two) == ZT_OK, "apply: %s", diag_text());
    delete_everything();
    refresh(&st);
    ck_assert(st.state->is_null);
}
END_TEST

START_TEST(lazy_client_and_missing_subscription)
{
    zt_provider *p = zt_provider_new();
    p->config = P->config;
    atomic_store(&p->configured, true);
    zt_call c = {.arena = A, .diags = &D, .provider = p};
    struct zt_arm_client *a1 = NULL, *a2 = NULL;
    ck_assert_int_eq(zt_provider_arm(&c, &a1), ZT_OK);
    ck_assert_int_eq(zt_provider_arm(&c, &a2), ZT_OK);
    ck_assert_ptr_eq(a1, a2);
    zt_arm_client_free(a1);

    zt_provider *q = zt_provider_new();
    q->config = P->config;
    q->config.subscription_id = NULL;
    atomic_store(&q->configured, true);
    c.provider = q;
    ck_assert_int_ne(zt_provider_arm(&c, &a1), ZT_OK);
    ck_assert_msg(strstr(diag_text(), "subscription_id"), "%s", diag_text());
    provider_free(p);
    provider_free(q);
}
END_TEST


START_TEST(timeout_block_is_respected)
{
    tf_state st = {0};
    const zt_cty_value *c1 = cfg(TWO, "\"timeouts\":{\"create\":\"1s\",\"update\":null,"
                                      "\"delete\":null,\"read\":null}");
    ctl("POST", "/faults", "{\"kind\":\"latency\",\"method\":\"PUT\",\"seconds\":3,"
                           "\"path_regex\":\"/publicIPAddresses/t1-pip$\",\"count\":1}");
    double t0 = now_s();
    ck_assert_int_ne(apply(&st, c1), ZT_OK);
    double took = now_s() - t0;
    ck_assert_msg(took < 2.8, "the 1s create timeout was not applied (%.2f s)", took);
    ck_assert_msg(strstr(diag_text(), "pip") && strstr(diag_text(), "publicIPAddresses/t1-pip"),
                  "%s", diag_text());
    ck_assert(st.state && !st.state->is_null); /* the VNet and NSG exist */
    ck_assert(rec(&st, "vnet")->exists);
    /* resume with the default timeouts: the next apply finishes the job */
    zt_diags_init(&D, A);
    const zt_cty_value *c2 = cfg(TWO, NULL);
    ck_assert_msg(apply(&st, c2) == ZT_OK, "resume: %s", diag_text());
    assert_store(NULL, 5);
    refresh(&st);
    assert_clean(&st, c2);
}
END_TEST

static void *stop_later(void *arg)
{
    zt_provider *p = arg;
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    atomic_store(&p->stop_requested, true);
    return NULL;
}

START_TEST(stop_provider_returns_partial_state)
{
    tf_state st = {0};
    const zt_cty_value *c1 = cfg(TWO, NULL);
    ctl("POST", "/faults", "{\"kind\":\"latency\",\"method\":\"PUT\",\"seconds\":2,"
                           "\"path_regex\":\"/virtualNetworks/t1-vnet$\",\"count\":1}");
    pthread_t th;
    pthread_create(&th, NULL, stop_later, P);
    ck_assert_int_ne(apply(&st, c1), ZT_OK);
    pthread_join(th, NULL);
    ck_assert_msg(strstr(diag_text(), "cancel"), "%s", diag_text());
    assert_store("/subnets/", 0); /* never started */
    /* Terraform runs again later: the apply resumes */
    atomic_store(&P->stop_requested, false);
    zt_diags_init(&D, A);
    if (!st.state)
        st = (tf_state){0};
    ck_assert_msg(apply(&st, c1) == ZT_OK, "resume: %s", diag_text());
    assert_store(NULL, 5);
    refresh(&st);
    assert_clean(&st, c1);
}
END_TEST

START_TEST(renamed_nodes_move)
{
    tf_state st = {0};
    const zt_cty_value *c1 = cfg(TWO, NULL);
    ck_assert_msg(apply(&st, c1) == ZT_OK, "apply: %s", diag_text());
    /* every name derives from "name": each node moves to a new resource,
     * the old ones are deleted afterwards, children before parents */
    const zt_cty_value *c2 = zt_comp_set_attr(A, c1, "name", zt_cty_string(A, "t2"));
    zt_comp_plan_resp p = plan(&st, c2);
    ck_assert_str_eq(change(&p, "vnet"), "create");
    /* the old one under the key the apply sets it aside as */
    const zt_cty_value *old = zt_cty_map_get(zt_cty_get_attr(st.state, "underlying_resources"), "vnet");
    ck_assert_ptr_nonnull(old);
    ck_assert_str_eq(change(&p, zt_arena_printf(A, "vnet~%s", old->u.str.ptr)), "delete");
    ck_assert_msg(apply(&st, c2) == ZT_OK, "rename: %s", diag_text());
    assert_store("/t1-", 0);
    assert_store("/t2-", 5);
    refresh(&st);
    assert_clean(&st, c2);
}
END_TEST

START_TEST(refused_create_leaves_no_state)
{
    tf_state st = {0};
    const zt_cty_value *c1 = cfg(TWO, NULL);
    ctl("POST", "/faults", "{\"kind\":\"error\",\"method\":\"PUT\",\"status\":400,"
                           "\"code\":\"InvalidRequest\",\"message\":\"refused\","
                           "\"path_regex\":\"/(virtualNetworks|networkSecurityGroups|"
                           "publicIPAddresses)/t1-[a-z]+$\",\"count\":3}");
    ck_assert_int_ne(apply(&st, c1), ZT_OK);
    ck_assert_ptr_null(st.state); /* nothing was created: nothing to track */
    assert_store(NULL, 0);
    zt_diags_init(&D, A);
    ck_assert_msg(apply(&st, c1) == ZT_OK, "retry: %s", diag_text());
    assert_store(NULL, 5);
}
END_TEST

/* ---- policy-aware plans ------------------------------------------------------------- */

/* A built-in definition assigned at rg1 through ARM. */
static void assign(const char *name, const char *guid, const char *params, const char *mode)
{
    const char *json = zt_arena_printf(
        A, "{\"properties\":{\"displayName\":\"Test %s\",\"policyDefinitionId\":"
           "\"/providers/Microsoft.Authorization/policyDefinitions/%s\",\"enforcementMode\":"
           "\"%s\",\"parameters\":%s}}",
        name, guid, mode, params);
    json_t *b = kept(json_loads(json, 0, NULL));
    zt_arm_req req = {.method = ZT_ARM_PUT, .body = b,
                      .path = zt_arena_printf(A, "/subscriptions/%s/resourceGroups/rg1/providers/"
                                                 "Microsoft.Authorization/policyAssignments/%s",
                                              g_emu.sub, name)};
    zt_arm_resp resp;
    ck_assert_int_eq(zt_arm_do(P->arm, A, &req, &resp), ZT_OK);
}

static const zt_diag *diag_with(zt_severity sev, const char *summary_part)
{
    for (const zt_diag *d = D.head; d; d = d->next)
        if (d->severity == sev && strstr(d->summary, summary_part))
            return d;
    return NULL;
}

static zt_rc plan_rc(const zt_cty_value *config)
{
    zt_diags_init(&D, A);
    zt_comp_plan_req req = {.proposed = config, .config = config};
    zt_comp_plan_resp resp;
    return zt_comp_plan(&C, &zt_test_composite, S, &req, &resp);
}

#define REQUIRE_TAG "871b6d14-10aa-478d-b590-94f262ecfa99"
#define ALLOWED_LOCATIONS "e56962a6-4747-49cd-b67b-bf8b01975c4c"

START_TEST(policy_checked_at_plan)
{
    P->config.policy_plan_checks_enabled = true;
    assign("tag", REQUIRE_TAG, "{\"tagName\":{\"value\":\"cost-centre\"}}", "Default");
    assign("loc", ALLOWED_LOCATIONS,
           "{\"listOfAllowedLocations\":{\"value\":[\"northeurope\"]},"
           "\"effect\":{\"value\":\"Audit\"}}", "Default");
    /* Deny: an error per node that carries tags, pointing at the input */
    ck_assert_int_eq(plan_rc(cfg(TWO, NULL)), ZT_ERR_INVALID);
    const zt_diag *e =
        diag_with(ZT_SEV_ERROR, "Azure Policy denies vnet: \"Require a tag on resources\"");
    ck_assert_msg(e != NULL, "%s", diag_text());
    ck_assert_str_eq(zt_path_str(A, e->path), "tags");
    ck_assert_msg(strstr(e->detail, "assignment \"Test tag\"") &&
                      strstr(e->detail, "effect Deny") &&
                      strstr(e->detail, "RequestDisallowedByPolicy") &&
                      strstr(e->detail, "tags[cost-centre]"),
                  "%s", e->detail);
    ck_assert_ptr_nonnull(diag_with(ZT_SEV_ERROR, "Azure Policy denies pip:"));
    ck_assert_ptr_null(diag_with(ZT_SEV_ERROR, "denies subnet")); /* no tags of its own */
    /* what ARM says at apply, with the check off */
    P->config.policy_plan_checks_enabled = false;
    tf_state st = {0};
    zt_diags_init(&D, A);
    ck_assert_int_ne(apply(&st, cfg(TWO, NULL)), ZT_OK);
    ck_assert_msg(strstr(diag_text(), "RequestDisallowedByPolicy"), "%s", diag_text());
    P->config.policy_plan_checks_enabled = true;
    /* the tag given: the audit is one warning, its line per node */
    const zt_cty_value *tagged =
        cfg(TWO, "\"tags\":{\"owner\":\"me\",\"cost-centre\":\"c\"}");
    ck_assert_msg(plan_rc(tagged) == ZT_OK, "%s", diag_text());
    const zt_diag *w = diag_with(ZT_SEV_WARNING, "Azure Policy findings");
    ck_assert_msg(w && strstr(w->detail, "- vnet (Microsoft.Network/virtualNetworks): Audit by "
                                         "\"Allowed locations\""),
                  "%s", diag_text());
    /* a location known only after apply: undecided, said so */
    const zt_cty_value *later =
        zt_comp_set_attr(A, tagged, "location", zt_cty_unknown(A, &zt_cty_string_type));
    ck_assert_msg(plan_rc(later) == ZT_OK, "%s", diag_text());
    w = diag_with(ZT_SEV_WARNING, "Azure Policy findings");
    ck_assert_msg(w && strstr(w->detail, "depends on values known only after apply") &&
                      strstr(w->summary, "not decided at plan"),
                  "%s", diag_text());
    /* not enforced: would be denied, a warning (the next command reads again) */
    atomic_fetch_add(&P->generation, 1);
    assign("tag", REQUIRE_TAG, "{\"tagName\":{\"value\":\"cost-centre\"}}", "DoNotEnforce");
    ck_assert_msg(plan_rc(cfg(TWO, NULL)) == ZT_OK, "%s", diag_text());
    w = diag_with(ZT_SEV_WARNING, "Azure Policy findings");
    ck_assert_msg(w && strstr(w->detail, "would be denied by \"Require a tag on resources\"") &&
                      strstr(w->detail, "not enforced"),
                  "%s", diag_text());
}
END_TEST

START_TEST(policy_read_failure_skips_the_check)
{
    P->config.policy_plan_checks_enabled = true;
    assign("tag2", REQUIRE_TAG, "{\"tagName\":{\"value\":\"team\"}}", "Default");
    ctl("POST", "/faults", "{\"kind\":\"error\",\"method\":\"GET\",\"status\":403,"
                           "\"code\":\"AuthorizationFailed\",\"message\":\"no policy reads\","
                           "\"path_regex\":\"/policyAssignments$\",\"count\":-1}");
    ck_assert_msg(plan_rc(cfg(TWO, NULL)) == ZT_OK, "%s", diag_text());
    const zt_diag *w = diag_with(ZT_SEV_WARNING, "Azure Policy not checked at plan");
    ck_assert_msg(w && strstr(w->detail, "AuthorizationFailed"), "%s", diag_text());
    ck_assert_uint_eq(D.errors, 0);
}
END_TEST

int main(void)
{
    zt_test_emulator_load(&g_emu);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("composite-integration");
    TCase *t = tcase_create("emulator");
    tcase_set_timeout(t, 300);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, lifecycle);
    tcase_add_test(t, destroy_failure_keeps_state_and_only_nothing_is_gone);
    tcase_add_test(t, lazy_client_and_missing_subscription);
    tcase_add_test(t, timeout_block_is_respected);
    tcase_add_test(t, stop_provider_returns_partial_state);
    tcase_add_test(t, renamed_nodes_move);
    tcase_add_test(t, refused_create_leaves_no_state);
    tcase_add_test(t, policy_checked_at_plan);
    tcase_add_test(t, policy_read_failure_skips_the_check);
    suite_add_tcase(s, t);
    return zt_test_run(s);
}
