/* zt_grpc_plugins.c - which of gRPC's optional plugins the provider's process
 * registers: none of the "extra" ones.
 *
 * grpc_init registers, besides the core, xDS (resolver, load-balancing
 * policies, channel stack modifier), the RBAC and fault-injection filters,
 * Cloud2Prod and the file-watcher certificate provider through
 * grpc_core::RegisterExtraFilters. The provider only serves Terraform on a
 * local socket with mutual TLS and uses none of them; defining the function
 * empty is what gRPC's own grpc_unsecure library does
 * (grpc_plugin_registry_noextra.cc), and it keeps the ~2.4 MB of code behind
 * them out of the binary: less to map, relocate and initialise at every start
 * (bench/startup.py). Linked as an object of the executable, ahead of
 * libgrpc.a, so the archive's definition is never pulled in; with a gRPC
 * whose function has another name or signature this is an unused function.
 */

/* void grpc_core::RegisterExtraFilters(grpc_core::CoreConfiguration::Builder *) */
void zt_grpc_register_extra(void *builder)
    __asm__("_ZN9grpc_core20RegisterExtraFiltersEPNS_17CoreConfiguration7BuilderE");

void zt_grpc_register_extra(void *builder)
{
    (void)builder;
}
