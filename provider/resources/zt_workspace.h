/* zt_workspace.h - what the definition of
 * zerotrust_databricks_private_workspace (zt_workspace.c) and its import
 * hook (zt_workspace_import.c) share: the names it gives resources, the
 * roles it grants, and the hook. */
#ifndef ZT_WORKSPACE_H
#define ZT_WORKSPACE_H

#include "zt_composite.h"

#define ZT_WS_ROLE_CRYPTO_USER "e147488a-f6f5-4113-8e2d-b22465e65bf6" /* KV Crypto Service Encryption User */
#define ZT_WS_ROLE_BLOB_CONTRIB "ba92f5b4-2d11-453d-a403-e96b0029c9fe" /* Storage Blob Data Contributor */
#define ZT_WS_ROLE_SECRETS_USER "4633458b-17de-408a-b874-0445c86b69e6" /* Key Vault Secrets User */
#define ZT_WS_ROLE_CONTRIBUTOR "b24988ac-6180-42a0-ab88-20f7382dd24c" /* Contributor */
#define ZT_WS_ROLE_SB_SENDER "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39" /* Azure Service Bus Data Sender */
#define ZT_WS_ROLE_SB_RECEIVER "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0" /* Azure Service Bus Data Receiver */

#define ZT_WS_DIAG_NAME "zerotrust-law"
#define ZT_WS_FIC_NAME "github-actions"
#define ZT_WS_KEY_STORAGE "cmk-storage"
#define ZT_WS_KEY_DBX "cmk-databricks"

/* Rebuilds every input attribute from ARM reads, starting at the
 * Databricks workspace's ARM ID (/subscriptions/<s>/resourceGroups/<g>/
 * providers/Microsoft.Databricks/workspaces/dbw-<name>), as Azure holds
 * them, so the configuration that created the resource plans no change
 * after the import. */
zt_rc zt_ws_import(zt_call *c, const zt_schema *s, const char *id,
                   json_t *(*get)(void *getter, const char *arm_id), void *getter,
                   const zt_cty_value **inputs);

#endif
