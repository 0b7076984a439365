/* zt_provider.c - the provider instance. */
#include "zt_provider.h"

#include <stdlib.h>

zt_provider *zt_provider_new(void)
{
    zt_provider *p = calloc(1, sizeof(*p));
    if (!p)
        zt_panic("out of memory");
    p->arena = zt_arena_new();
    atomic_init(&p->configured, false);
    atomic_init(&p->stop_requested, false);
    return p;
}
