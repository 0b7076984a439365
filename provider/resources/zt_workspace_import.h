/* zt_workspace_import.h - terraform import for
 * zerotrust_databricks_private_workspace (zt_workspace_import.c), the
 * composite's `import` hook (zt_composite.h). */
#ifndef ZT_WORKSPACE_IMPORT_H
#define ZT_WORKSPACE_IMPORT_H

#include "zt_composite.h"

/* Rebuilds every input attribute from ARM reads, starting at the
 * Databricks workspace's ARM ID (/subscriptions/<s>/resourceGroups/<g>/
 * providers/Microsoft.Databricks/workspaces/dbw-<name>). Optional inputs
 * that Azure shows at their default come back null, so the configuration
 * that created the resource plans no change after the import. */
zt_rc zt_ws_import(zt_call *c, const zt_schema *s, const char *id,
                   json_t *(*get)(void *getter, const char *arm_id), void *getter,
                   const zt_cty_value **inputs);

#endif
