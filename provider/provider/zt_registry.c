/* zt_registry.c - what the provider offers. Each data source and function
 * is defined next to its implementation; this file only lists them. A
 * data source's schema is the embedded document of the same type name
 * (schemas/data-sources/<type_name>.json); tests check the two agree. */
#include "zt_provider.h"

#include "zt_addrplan.h"
#include "zt_composite.h"

#include <string.h>

extern const zt_datasource_def zt_ds_hub; /* provider/resources/zt_hub_data.c */

const zt_datasource_def *const zt_datasources[] = {
    &zt_ds_address_plan,
    &zt_ds_hub,
    NULL,
};

const zt_function_def *const zt_functions[] = {
    &zt_fn_cidr_layout,
    NULL,
};

/* Composite resources (zt_composite.h); their schemas are
 * schemas/resources/<type_name>.json. */
extern const zt_composite_def zt_composite_hub;   /* provider/resources/zt_hub.c */
/* provider/resources/zt_workspace.c */
extern const zt_composite_def zt_composite_databricks_private_workspace;
extern const zt_composite_def zt_composite_spoke; /* provider/resources/zt_spoke.c */
/* provider/resources/zt_governance.c */
extern const zt_composite_def zt_composite_governance;

const zt_composite_def *const zt_composites[] = {
    &zt_composite_hub,
    &zt_composite_spoke,
    &zt_composite_databricks_private_workspace,
    &zt_composite_governance,
    NULL,
};

const zt_composite_def *zt_composite_find(const char *type_name)
{
    for (size_t i = 0; type_name && zt_composites[i]; i++)
        if (strcmp(zt_composites[i]->type_name, type_name) == 0)
            return zt_composites[i];
    return NULL;
}

const zt_datasource_def *zt_datasource_find(const char *type_name)
{
    for (size_t i = 0; type_name && zt_datasources[i]; i++)
        if (strcmp(zt_datasources[i]->type_name, type_name) == 0)
            return zt_datasources[i];
    return NULL;
}

const zt_function_def *zt_function_find(const char *name)
{
    for (size_t i = 0; name && zt_functions[i]; i++)
        if (strcmp(zt_functions[i]->name, name) == 0)
            return zt_functions[i];
    return NULL;
}
