/* zt_comp_claims.c - what the resources planned by this provider process
 * hold in a shared scope (the address spaces peered with one hub VNet,
 * the priorities in one firewall policy). Resources created in the same
 * run are not in Azure yet when they are planned, so a plan_check that
 * reads Azure cannot see them; Terraform plans them all through this one
 * process, in dependency order, and each records its claim here.
 *
 * Claims live as long as the process (one plan or one apply), in storage
 * of their own: calls come from many RPC threads. */
#include "zt_comp_internal.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

typedef struct claim {
    const char *scope;
    zt_comp_claim c;
} claim;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static zt_arena *g_arena;
static claim *g_claims;
static size_t g_n, g_cap;

/* Under g_lock: the claim of owner in scope, added when absent. */
static claim *slot(const char *scope, const char *owner)
{
    for (size_t i = 0; i < g_n; i++)
        if (strcasecmp(g_claims[i].scope, scope) == 0 && strcmp(g_claims[i].c.owner, owner) == 0)
            return &g_claims[i];
    if (!g_arena)
        g_arena = zt_arena_new();
    if (g_n == g_cap) {
        size_t nc = g_cap ? g_cap * 2 : 16;
        g_claims = zt_arena_realloc(g_arena, g_claims, g_cap * sizeof(*g_claims),
                                    nc * sizeof(*g_claims));
        g_cap = nc;
    }
    claim *k = &g_claims[g_n++];
    k->scope = zt_arena_strdup(g_arena, scope);
    k->c.owner = zt_arena_strdup(g_arena, owner);
    k->c.value = NULL;
    return k;
}

/* Under g_lock: copies of the claims in scope but mine. */
static const zt_comp_claim *others(zt_call *c, const char *scope, const claim *mine, size_t *n)
{
    zt_comp_claim *out = zt_arena_calloc(c->arena, g_n + 1, sizeof(*out));
    *n = 0;
    for (size_t i = 0; i < g_n; i++)
        if (&g_claims[i] != mine && strcasecmp(g_claims[i].scope, scope) == 0)
            out[(*n)++] = (zt_comp_claim){.owner = zt_arena_strdup(c->arena, g_claims[i].c.owner),
                                          .value = zt_arena_strdup(c->arena, g_claims[i].c.value)};
    return out;
}

const zt_comp_claim *zt_comp_claim_put(zt_call *c, const char *scope, const char *owner,
                                       const char *value, size_t *n)
{
    pthread_mutex_lock(&g_lock);
    claim *mine = slot(scope, owner);
    if (!mine->c.value || strcmp(mine->c.value, value) != 0)
        mine->c.value = zt_arena_strdup(g_arena, value);
    const zt_comp_claim *out = others(c, scope, mine, n);
    pthread_mutex_unlock(&g_lock);
    return out;
}

const zt_comp_claim *zt_comp_claims(zt_call *c, const char *scope, size_t *n)
{
    pthread_mutex_lock(&g_lock);
    const zt_comp_claim *out = others(c, scope, NULL, n);
    pthread_mutex_unlock(&g_lock);
    return out;
}
