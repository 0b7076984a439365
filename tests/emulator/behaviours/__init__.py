"""Type-specific behaviour that does not fit the data tables: computed read-only properties (IPs, principal IDs,
URLs), Azure's semantic rules, Key Vault soft delete, role assignment rules, Databricks VNet injection.

One module per resource provider (or per concern inside Microsoft.Network); each registers its hooks on import
(see ``core`` for the hook kinds). Every rule a module enforces is listed in ``tests/emulator/FIDELITY.md``.
"""
from . import (authorization, cmk, containerregistry, databricks, databricks_nip, diagnostics,  # noqa: F401
               governance, identity, keyvault, monitor, network, network_edge, private_link, storage)
from .core import (Ctx, action, extra_refs, on_provisioned, on_removed, on_write, pre_delete,  # noqa: F401
                   render, validate, validate_inline)
from .keyvault import keyvault_deleted  # noqa: F401
