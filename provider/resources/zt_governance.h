/* zt_governance.h - what the definition of zerotrust_governance
 * (zt_governance.c), its import hook (zt_governance_import.c) and the unit
 * tests share: the initiative's members, the alerts, the names. */
#ifndef ZT_GOVERNANCE_H
#define ZT_GOVERNANCE_H

#include "zt_composite.h"

#define ZT_GOV_DIAG_NAME "zerotrust-law"
#define ZT_GOV_ROLE_LA_CONTRIBUTOR "92aaf0da-9dab-42b6-94a3-d43ce8d16293" /* Log Analytics Contributor */
#define ZT_GOV_ROLE_MON_CONTRIBUTOR "749f88d5-cbae-40b8-bcfc-e573ddc772fa" /* Monitoring Contributor */
#define ZT_GOV_DEFAULT_RETENTION 90
#define ZT_GOV_DEFAULT_BUDGET 1000
#define ZT_GOV_PARAM_LOCATIONS "allowedLocations"
#define ZT_GOV_PARAM_WORKSPACE "logAnalytics"
/* Set-definition parameter of a member's effect: "effect-<key>". */
#define ZT_GOV_EFFECT_PARAM "effect-"
/* Reference IDs of the per-tag members: "require-tag-<tag>" and
 * "require-rg-tag-<tag>". */
#define ZT_GOV_TAG_REF "require-tag-"
#define ZT_GOV_RG_TAG_REF "require-rg-tag-"

/* Which parameters of the shared set a member takes besides its effect. */
enum {
    ZT_GOV_P_LOCATIONS = 1 << 0, /* listOfAllowedLocations */
    ZT_GOV_P_WORKSPACE = 1 << 1, /* logAnalytics */
    ZT_GOV_P_CATEGORY = 1 << 2,  /* categoryGroup = allLogs (the platform's settings) */
};

/* One member of the initiative: a built-in definition of
 * third_party/azure-policy (MANIFEST.md), by GUID. */
typedef struct zt_gov_policy {
    const char *key;           /* reference ID and policy_effects key */
    const char *guid;          /* the built-in definition's name */
    const char *display;       /* its displayName */
    const char *effect;        /* our default effect */
    const char *const *effects; /* the definition's allowed effects */
    unsigned params;
    const char *const *roles;  /* DeployIfNotExists: roleDefinitionIds (GUIDs) */
} zt_gov_policy;

extern const zt_gov_policy zt_gov_policies[];
extern const size_t zt_gov_n_policies;
/* The per-tag members (effect deny, fixed in their rules). */
extern const zt_gov_policy zt_gov_tag_policy, zt_gov_rg_tag_policy;
extern const char *const zt_gov_default_tags[4];

/* A scheduled query alert over the diagnostics' resource-specific tables. */
typedef struct zt_gov_alert {
    const char *key;
    const char *display;
    const char *query;
    int severity, window, frequency, threshold; /* defaults; minutes */
} zt_gov_alert;

extern const zt_gov_alert zt_gov_alerts[];
extern const size_t zt_gov_n_alerts;

const zt_gov_policy *zt_gov_policy_find(const char *key);
const zt_gov_alert *zt_gov_alert_find(const char *key);
/* ISO 8601 duration of a number of minutes as ARM writes it back
 * ("PT5M", "PT1H", "P1D"); 0 for a string ARM would not echo. */
const char *zt_gov_duration(zt_arena *a, int64_t minutes);
int64_t zt_gov_minutes(const char *iso);

zt_rc zt_gov_import(zt_call *c, const zt_schema *s, const char *id,
                    json_t *(*get)(void *getter, const char *arm_id), void *getter,
                    const zt_cty_value **inputs);

#endif
