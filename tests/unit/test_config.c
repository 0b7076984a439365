/* Unit tests for zt_provider_config_parse: ARM_* fallbacks, precedence,
 * validation diagnostics with attribute paths, unknown values. */
#include "zt_provider.h"
#include "zt_test_values.h"

#include "zt_test.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UUID1 "11111111-2222-3333-4444-555555555555"
#define UUID2 "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

static zt_arena *A;
static zt_diags D;
static zt_provider g_provider;
static char g_file[64];

/* Every variable the parser reads, so that the environment of whoever
 * runs the tests cannot leak in. */
static const char *const zt_env_vars[] = {
    "ARM_SUBSCRIPTION_ID", "ARM_TENANT_ID", "AZURE_TENANT_ID", "ARM_CLIENT_ID", "AZURE_CLIENT_ID",
    "ARM_CLIENT_ID_FILE_PATH", "ARM_ENVIRONMENT", "ARM_USE_OIDC", "ARM_OIDC_TOKEN",
    "ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "ARM_OIDC_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_URL", "ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ARM_USE_MSI", "ARM_MSI_ENDPOINT", "ARM_MSI_OBJECT_ID", "ARM_MSI_RES_ID",
    "ARM_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_CERTIFICATE", "ARM_CLIENT_CERTIFICATE_PASSWORD",
    "ARM_CLIENT_SECRET", "ARM_USE_CLI", "ARM_RESOURCE_MANAGER_ENDPOINT", "ARM_AUTHORITY_HOST",
    "AZURE_AUTHORITY_HOST", "ARM_CA_BUNDLE_PATH", "ARM_SKIP_CREDENTIALS_VALIDATION"};

static void setup(void)
{
    A = zt_arena_new();
    zt_diags_init(&D, A);
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_env_vars); i++)
        unsetenv(zt_env_vars[i]);
    strcpy(g_file, "/tmp/zt_test_config_XXXXXX");
    int fd = mkstemp(g_file);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "token\n", 6), 6);
    close(fd);
}

static void teardown(void)
{
    unlink(g_file);
    zt_arena_free(A);
}

static const zt_cty_type *ptype(void) { return zt_schema_provider()->type; }

static zt_rc parse(const zt_cty_value *config, bool validate_only, zt_provider_config *out)
{
    zt_call c = {.arena = A, .diags = &D, .provider = &g_provider};
    return zt_provider_config_parse(&c, config, validate_only, out);
}

static zt_provider_config parse_ok(const zt_cty_value *config, bool validate_only)
{
    zt_provider_config cfg;
    zt_rc rc = parse(config, validate_only, &cfg);
    ck_assert_msg(rc == ZT_OK && D.errors == 0, "%s at %s: %s", D.head ? D.head->summary : "-",
                  D.head && D.head->path ? zt_path_str(A, D.head->path) : "-",
                  D.head ? D.head->detail : "-");
    return cfg;
}

#define S(x) zt_cty_string(A, x)
#define B(x) zt_cty_bool(A, x)

/* ---- sources and precedence ----------------------------------------------------- */

START_TEST(test_empty_config_defaults)
{
    zt_provider_config cfg = parse_ok(tv_object(A, ptype(), NULL), false);
    ck_assert_str_eq(cfg.environment, "public");
    ck_assert_ptr_null(cfg.subscription_id);
    ck_assert(!cfg.use_oidc && !cfg.use_msi && !cfg.use_cli);
    ck_assert_ptr_null(cfg.resource_manager_endpoint); /* the ARM client's default */
    ck_assert_uint_eq(cfg.n_required_tags, 4);
    ck_assert_str_eq(cfg.required_tags[0], "environment");
    ck_assert_str_eq(cfg.required_tags[3], "cost-centre");
    ck_assert_uint_eq(cfg.n_allowed_locations, 0);
    ck_assert(cfg.recover_soft_deleted_key_vaults);
    ck_assert(cfg.policy_plan_checks_enabled);
    ck_assert_uint_eq(D.count, 0);
    /* a null block (no provider block at all) behaves the same */
    cfg = parse_ok(zt_cty_null(A, ptype()), false);
    ck_assert_str_eq(cfg.environment, "public");
    ck_assert(cfg.recover_soft_deleted_key_vaults);
    /* switched off */
    cfg = parse_ok(tv_object(A, ptype(), "recover_soft_deleted_key_vaults", B(false), NULL), false);
    ck_assert(!cfg.recover_soft_deleted_key_vaults);
    ck_assert(cfg.policy_plan_checks_enabled);
    cfg = parse_ok(tv_object(A, ptype(), "policy_plan_checks_enabled", B(false), NULL), false);
    ck_assert(!cfg.policy_plan_checks_enabled);
    ck_assert(cfg.recover_soft_deleted_key_vaults);
}
END_TEST

START_TEST(test_env_fallbacks)
{
    setenv("ARM_SUBSCRIPTION_ID", UUID1, 1);
    setenv("ARM_TENANT_ID", UUID2, 1);
    setenv("ARM_CLIENT_ID", UUID1, 1);
    setenv("ARM_ENVIRONMENT", "USGovernment", 1);
    setenv("ARM_USE_OIDC", "true", 1);
    setenv("ARM_USE_CLI", "0", 1);
    setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "https://token.actions.example/x?api-version=2.0", 1);
    setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-secret", 1);
    setenv("ARM_CLIENT_SECRET", "s3cr3t", 1);
    setenv("ARM_MSI_ENDPOINT", "http://169.254.169.254/metadata/identity/oauth2/token", 1);
    setenv("ARM_SKIP_CREDENTIALS_VALIDATION", "true", 1);
    zt_provider_config cfg = parse_ok(tv_object(A, ptype(), NULL), false);
    ck_assert(cfg.skip_credentials_validation);
    ck_assert_str_eq(cfg.subscription_id, UUID1);
    ck_assert_str_eq(cfg.tenant_id, UUID2);
    ck_assert_str_eq(cfg.client_id, UUID1);
    ck_assert_str_eq(cfg.environment, "usgovernment"); /* canonical spelling */
    ck_assert(cfg.use_oidc);
    ck_assert(!cfg.use_cli);
    ck_assert_str_eq(cfg.oidc_request_url, "https://token.actions.example/x?api-version=2.0");
    ck_assert_str_eq(cfg.oidc_request_token, "gh-secret");
    ck_assert_str_eq(cfg.client_secret, "s3cr3t");
    /* secrets are copies (wiped with the arena), not the environment's memory */
    ck_assert_ptr_ne(cfg.client_secret, getenv("ARM_CLIENT_SECRET"));
    ck_assert_str_eq(cfg.msi_endpoint, "http://169.254.169.254/metadata/identity/oauth2/token");
}
END_TEST

START_TEST(test_arm_names_win_over_ci_names)
{
    setenv("ARM_OIDC_REQUEST_URL", "https://a.example/", 1);
    setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "https://b.example/", 1);
    setenv("ARM_OIDC_TOKEN_FILE_PATH", g_file, 1);
    setenv("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent", 1);
    zt_provider_config cfg = parse_ok(tv_object(A, ptype(), NULL), false);
    ck_assert_str_eq(cfg.oidc_request_url, "https://a.example/");
    ck_assert_str_eq(cfg.oidc_token_file_path, g_file);
    unsetenv("ARM_OIDC_TOKEN_FILE_PATH");
    setenv("AZURE_FEDERATED_TOKEN_FILE", g_file, 1);
    cfg = parse_ok(tv_object(A, ptype(), NULL), false);
    ck_assert_str_eq(cfg.oidc_token_file_path, g_file);
}
END_TEST

START_TEST(test_config_beats_env_and_empty_is_unset)
{
    setenv("ARM_SUBSCRIPTION_ID", UUID1, 1);
    setenv("ARM_TENANT_ID", UUID1, 1);
    setenv("ARM_USE_MSI", "true", 1);
    const zt_cty_value *config = tv_object(A, ptype(), "subscription_id", S(UUID2), "tenant_id",
                                           S(""), "use_msi", B(false), NULL);
    zt_provider_config cfg = parse_ok(config, false);
    ck_assert_str_eq(cfg.subscription_id, UUID2);
    ck_assert_str_eq(cfg.tenant_id, UUID1); /* "" falls back, as in azurerm */
    ck_assert(!cfg.use_msi);                /* an explicit false is a value */
}
END_TEST

START_TEST(test_env_bool_invalid)
{
    setenv("ARM_USE_OIDC", "yes", 1);
    zt_provider_config cfg;
    ck_assert_int_eq(parse(tv_object(A, ptype(), NULL), true, &cfg), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid boolean in the environment", "use_oidc", "ARM_USE_OIDC");
}
END_TEST

/* ---- validation ---------------------------------------------------------------- */

START_TEST(test_invalid_uuids)
{
    setenv("ARM_TENANT_ID", "contoso.onmicrosoft.com", 1);
    const zt_cty_value *config =
        tv_object(A, ptype(), "subscription_id", S("1234"), "client_id",
                  S("11111111-2222-3333-4444-55555555555g"), "msi_object_id", S("x"), NULL);
    zt_provider_config cfg;
    ck_assert_int_eq(parse(config, true, &cfg), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid UUID", "subscription_id", "\"1234\"");
    tv_expect_error(A, &D, "Invalid UUID", "tenant_id", "from the environment variable ARM_TENANT_ID");
    tv_expect_error(A, &D, "Invalid UUID", "client_id", NULL);
    tv_expect_error(A, &D, "Invalid UUID", "msi_object_id", NULL);
    ck_assert_uint_eq(D.errors, 4);
}
END_TEST

START_TEST(test_environment_enum)
{
    zt_provider_config cfg;
    ck_assert_int_eq(parse(tv_object(A, ptype(), "environment", S("german"), NULL), true, &cfg),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid environment", "environment", "\"german\"");
}
END_TEST

START_TEST(test_custom_cloud)
{
    zt_provider_config cfg;
    ck_assert_int_eq(parse(tv_object(A, ptype(), "environment", S("custom"), NULL), true, &cfg),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Missing endpoint", "resource_manager_endpoint", NULL);
    tv_expect_error(A, &D, "Missing endpoint", "authority_host", NULL);

    zt_diags_init(&D, A);
    cfg = parse_ok(tv_object(A, ptype(), "environment", S("custom"), "resource_manager_endpoint",
                             S("https://arm.local:8443"), "authority_host",
                             S("https://login.local:8443/"), NULL),
                   true);
    ck_assert_str_eq(cfg.resource_manager_endpoint, "https://arm.local:8443");
}
END_TEST

START_TEST(test_https_only)
{
    setenv("ARM_AUTHORITY_HOST", "http://login.example", 1);
    const zt_cty_value *config = tv_object(
        A, ptype(), "resource_manager_endpoint", S("ftp://arm.example"), "oidc_request_url",
        S("https://user:pw@token.example/"), "msi_endpoint", S("http://10.0.0.5/token"), NULL);
    zt_provider_config cfg;
    ck_assert_int_eq(parse(config, true, &cfg), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid URL", "resource_manager_endpoint", "ftp://arm.example");
    tv_expect_error(A, &D, "Insecure URL", "authority_host", "ARM_AUTHORITY_HOST");
    tv_expect_error(A, &D, "Invalid URL", "oidc_request_url", "without user name");
    tv_expect_error(A, &D, "Insecure URL", "msi_endpoint", "169.254.169.254");
    ck_assert_uint_eq(D.errors, 4);

    /* managed identity endpoints on the machine itself may be http */
    zt_diags_init(&D, A);
    unsetenv("ARM_AUTHORITY_HOST");
    parse_ok(tv_object(A, ptype(), "msi_endpoint", S("http://localhost:42356/msi/token"), NULL), true);
    parse_ok(tv_object(A, ptype(), "msi_endpoint", S("http://[::1]:8080/token"), NULL), true);
}
END_TEST

START_TEST(test_conflicts_same_level)
{
    const zt_cty_value *config = tv_object(
        A, ptype(), "client_id", S(UUID1), "client_id_file_path", S(g_file), "oidc_token",
        S("eyJ.x.y"), "oidc_token_file_path", S(g_file), "use_oidc", B(true), "use_msi", B(true),
        "client_certificate", S("MIIKZQIBAzCCCi8="), "client_certificate_path", S(g_file),
        "client_secret", S("s"), NULL);
    zt_provider_config cfg;
    ck_assert_int_eq(parse(config, true, &cfg), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Conflicting provider settings", "client_id_file_path", "client_id");
    tv_expect_error(A, &D, "Conflicting provider settings", "oidc_token_file_path", NULL);
    tv_expect_error(A, &D, "Conflicting provider settings", "client_certificate_path", NULL);
    tv_expect_error(A, &D, "Conflicting provider settings", "use_msi", "keyless");
    tv_expect_error(A, &D, "Conflicting provider settings", "client_secret", "certificate");
}
END_TEST

/* A configured value beats a conflicting one from the environment (AKS
 * injects AZURE_FEDERATED_TOKEN_FILE into every pod). */
START_TEST(test_conflicts_across_levels)
{
    setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", 1);
    setenv("ARM_CLIENT_SECRET", "from-env", 1);
    setenv("ARM_USE_OIDC", "true", 1);
    const zt_cty_value *config = tv_object(A, ptype(), "oidc_token", S("eyJ.x.y"),
                                           "client_certificate_path", S(g_file), "use_msi",
                                           B(true), NULL);
    zt_provider_config cfg = parse_ok(config, false);
    ck_assert_str_eq(cfg.oidc_token, "eyJ.x.y");
    ck_assert_ptr_null(cfg.oidc_token_file_path);
    ck_assert_ptr_null(cfg.client_secret);
    ck_assert(cfg.use_msi && !cfg.use_oidc);
}
END_TEST

START_TEST(test_msi_selectors)
{
    const char *res = "/subscriptions/" UUID1 "/resourceGroups/rg/providers/"
                      "Microsoft.ManagedIdentity/userAssignedIdentities/ci";
    zt_provider_config cfg = parse_ok(tv_object(A, ptype(), "use_msi", B(true), "msi_res_id", S(res), NULL), true);
    ck_assert_str_eq(cfg.msi_res_id, res);

    const zt_cty_value *config =
        tv_object(A, ptype(), "use_msi", B(true), "client_id", S(UUID1), "msi_object_id", S(UUID2),
                  "msi_res_id", S("/subscriptions/x/resourceGroups/rg"), NULL);
    ck_assert_int_eq(parse(config, true, &cfg), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid identity resource ID", "msi_res_id", "userAssignedIdentities");
    tv_expect_error(A, &D, "Conflicting provider settings", "msi_res_id", "msi_object_id");
    tv_expect_error(A, &D, "Conflicting provider settings", "msi_object_id", "client_id");
}
END_TEST

START_TEST(test_files_only_checked_when_configuring)
{
    const zt_cty_value *config = tv_object(A, ptype(), "client_certificate_path",
                                           S("/nonexistent/cert.pfx"), "ca_bundle_path", S("/tmp"),
                                           NULL);
    parse_ok(config, true);
    zt_provider_config cfg;
    ck_assert_int_eq(parse(config, false, &cfg), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "File not found", "client_certificate_path", "/nonexistent/cert.pfx");
    tv_expect_error(A, &D, "File not found", "ca_bundle_path", "not a regular file");

    zt_diags_init(&D, A);
    setenv("ARM_CLIENT_ID_FILE_PATH", "/nonexistent/client-id", 1);
    ck_assert_int_eq(parse(tv_object(A, ptype(), NULL), false, &cfg), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "File not found", "client_id_file_path", "ARM_CLIENT_ID_FILE_PATH");
}
END_TEST

START_TEST(test_oidc_needs_a_token_source)
{
    const zt_cty_value *config = tv_object(A, ptype(), "use_oidc", B(true), NULL);
    parse_ok(config, true); /* the pipeline may provide it by configure time */
    zt_provider_config cfg;
    ck_assert_int_eq(parse(config, false, &cfg), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "No ID token for OIDC", "use_oidc", "id-token: write");

    zt_diags_init(&D, A);
    setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "https://token.actions.example/x", 1);
    setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t", 1);
    parse_ok(config, false);
}
END_TEST

START_TEST(test_certificate_text)
{
    zt_provider_config cfg;
    ck_assert_int_eq(parse(tv_object(A, ptype(), "client_certificate", S("not base64!"), NULL),
                           true, &cfg),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid certificate", "client_certificate", "not shown");
    ck_assert_ptr_null(strstr(D.head->detail, "not base64!"));
    zt_diags_init(&D, A);
    parse_ok(tv_object(A, ptype(), "client_certificate",
                       S("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), NULL),
             true);
    /* a password without a certificate does nothing: say so */
    parse_ok(tv_object(A, ptype(), "client_certificate_password", S("pw"), NULL), true);
    tv_expect_warning(A, &D, "Certificate password without a certificate",
                      "client_certificate_password", NULL);
}
END_TEST

START_TEST(test_guardrails)
{
    static const char *const locs[] = {"westeurope", "West Europe", "westeurope"};
    static const char *const tags[] = {"owner", "Owner", "a/b", "cost-centre"};
    const zt_cty_value *config = tv_object(A, ptype(), "allowed_locations", tv_strings(A, 3, locs),
                                           "required_tags", tv_strings(A, 4, tags), NULL);
    zt_provider_config cfg;
    ck_assert_int_eq(parse(config, true, &cfg), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid location", "allowed_locations[1]", "westeurope");
    tv_expect_error(A, &D, "Duplicate location", "allowed_locations[2]", NULL);
    tv_expect_error(A, &D, "Duplicate tag name", "required_tags[1]", "not case-sensitive");
    tv_expect_error(A, &D, "Invalid tag name", "required_tags[2]", NULL);
    ck_assert_uint_eq(D.errors, 4);

    /* an explicit empty list requires no tags */
    zt_diags_init(&D, A);
    static const char *const good[] = {"westeurope", "northeurope"};
    cfg = parse_ok(tv_object(A, ptype(), "required_tags", tv_strings(A, 0, NULL),
                             "allowed_locations", tv_strings(A, 2, good), NULL),
                   false);
    ck_assert_uint_eq(cfg.n_required_tags, 0);
    ck_assert_uint_eq(cfg.n_allowed_locations, 2);
    ck_assert_str_eq(cfg.allowed_locations[0], "westeurope");
}
END_TEST

/* ---- unknown values ----------------------------------------------------------------- */

START_TEST(test_unknown_values_skipped_when_validating)
{
    setenv("ARM_SUBSCRIPTION_ID", "not-a-uuid", 1);
    const zt_cty_value *unk = zt_cty_unknown(A, &zt_cty_string_type);
    const zt_cty_value *items[] = {S("westeurope"), zt_cty_unknown(A, &zt_cty_string_type)};
    const zt_cty_value *config = tv_object(
        A, ptype(), "subscription_id", unk, "environment", unk, "client_certificate_path", unk,
        "client_certificate", S("MIIB"), "use_oidc", zt_cty_unknown(A, &zt_cty_bool_type),
        "allowed_locations", zt_cty_list(A, &zt_cty_string_type, 2, items), "required_tags",
        zt_cty_unknown(A, zt_cty_type_list(A, &zt_cty_string_type)), NULL);
    zt_provider_config cfg = parse_ok(config, true);
    /* unknown means "wait", not "use the environment" */
    ck_assert_ptr_null(cfg.subscription_id);
    ck_assert_ptr_null(cfg.environment);
    ck_assert_uint_eq(cfg.n_allowed_locations, 1);
    ck_assert_uint_eq(cfg.n_required_tags, 0);
    ck_assert_uint_eq(D.count, 0);

    /* configuring with unknown values is an error naming them */
    ck_assert_int_eq(parse(config, false, &cfg), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Provider setting not known", "subscription_id", NULL);
    tv_expect_error(A, &D, "Provider setting not known", "allowed_locations[1]", NULL);

    /* a wholly unknown block */
    zt_diags_init(&D, A);
    parse_ok(zt_cty_unknown(A, ptype()), true);
    ck_assert_int_eq(parse(zt_cty_unknown(A, ptype()), false, &cfg), ZT_ERR_INVALID);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_empty_config_defaults);
    tcase_add_test(tc, test_env_fallbacks);
    tcase_add_test(tc, test_arm_names_win_over_ci_names);
    tcase_add_test(tc, test_config_beats_env_and_empty_is_unset);
    tcase_add_test(tc, test_env_bool_invalid);
    tcase_add_test(tc, test_invalid_uuids);
    tcase_add_test(tc, test_environment_enum);
    tcase_add_test(tc, test_custom_cloud);
    tcase_add_test(tc, test_https_only);
    tcase_add_test(tc, test_conflicts_same_level);
    tcase_add_test(tc, test_conflicts_across_levels);
    tcase_add_test(tc, test_msi_selectors);
    tcase_add_test(tc, test_files_only_checked_when_configuring);
    tcase_add_test(tc, test_oidc_needs_a_token_source);
    tcase_add_test(tc, test_certificate_text);
    tcase_add_test(tc, test_guardrails);
    tcase_add_test(tc, test_unknown_values_skipped_when_validating);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
