/* zt_provider.c - the provider instance. */
#include "zt_provider.h"

#include "zt_arm.h"

#include <stdlib.h>

/* How long ConfigureProvider waits for a token. */
#define ZT_SIGN_IN_MS (2 * 60 * 1000)

zt_provider *zt_provider_new(void)
{
    zt_provider *p = calloc(1, sizeof(*p));
    if (!p)
        zt_panic("out of memory");
    p->arena = zt_arena_new();
    atomic_init(&p->configured, false);
    atomic_init(&p->stop_requested, false);
    pthread_mutex_init(&p->arm_lock, NULL);
    return p;
}

/* Emulators run Azure's clock faster (tests/emulator): they may allow
 * polls closer than the one a second real Azure gets. 0 when unset. */
static int64_t env_ms(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strtoll(v, NULL, 10) : 0;
}

/* How fast an emulator's clock runs (wall seconds per Azure second), for
 * the durations the resources expect; 0 (Azure's own) when unset. */
static double env_scale(const char *name)
{
    const char *v = getenv(name);
    double d = v && *v ? strtod(v, NULL) : 0;
    return d > 0 && d <= 1 ? d : 0;
}

/* Created lazily: ConfigureProvider must not fail for a plan that only
 * uses data sources and functions, and credentials are only needed once
 * a resource talks to ARM. */
static zt_rc arm_new(zt_call *c, zt_provider *p)
{
    if (!atomic_load(&p->configured))
        return zt_diag_error(c->diags, NULL, "Provider not configured",
                             "The zerotrust provider must be configured before it can reach "
                             "Azure. This is a Terraform or provider bug.");
    if (!p->config.subscription_id || !*p->config.subscription_id)
        return zt_diag_error(c->diags, NULL, "Missing subscription",
                             "Set subscription_id in the provider block or the "
                             "ARM_SUBSCRIPTION_ID environment variable.");
    zt_arm_client_options o = {
        .config = &p->config,
        .terraform_version = p->terraform_version,
        .cancel = &p->stop_requested,
        .min_poll_interval_ms = env_ms("ZT_ARM_MIN_POLL_MS"),
        .time_scale = env_scale("ZT_ARM_TIME_SCALE"),
    };
    /* What is wrong with the credentials, environment or endpoints says
     * so itself, with the setting's path. */
    zt_rc rc = zt_arm_client_new(&o, c->diags, &p->arm);
    if (rc != ZT_OK)
        p->arm = NULL;
    return rc;
}

zt_rc zt_provider_arm(zt_call *c, struct zt_arm_client **out)
{
    zt_provider *p = c->provider;
    pthread_mutex_lock(&p->arm_lock);
    zt_rc rc = p->arm ? ZT_OK : arm_new(c, p);
    *out = p->arm;
    pthread_mutex_unlock(&p->arm_lock);
    return rc;
}

zt_rc zt_provider_sign_in(zt_call *c)
{
    zt_provider *p = c->provider;
    if (p->config.skip_credentials_validation)
        return ZT_OK;
    struct zt_arm_client *arm;
    ZT_TRY(zt_provider_arm(c, &arm));
    const char *token = NULL;
    zt_arm_error *err = NULL;
    zt_rc rc = zt_arm_cred_token(zt_arm_client_cred(arm), c->arena,
                                 zt_arm_deadline_in(ZT_SIGN_IN_MS), zt_call_cancel_flag(c), &token,
                                 &err);
    if (rc == ZT_OK)
        return ZT_OK;
    return zt_diag_error(c->diags, NULL, "Cannot sign in to Azure",
                         "No credential the provider configuration enables gave a token for "
                         "Azure Resource Manager. Tried: %s.\n\nFix the credential settings (or "
                         "the ARM_* environment variables), or set skip_credentials_validation "
                         "when this configuration does not reach Azure.",
                         err ? zt_arm_error_str(c->arena, err) : zt_rc_str(rc));
}
