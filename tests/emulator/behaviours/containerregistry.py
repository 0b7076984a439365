"""Container registries."""
from __future__ import annotations

from ..config import utc_iso
from ..protocol import ArmError
from ..resource_types import get_path
from .core import VALIDATE, WRITE, global_name_taken, hook


@hook(WRITE, "Microsoft.ContainerRegistry/registries")
def _acr_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    c["loginServer"] = f"{res.name.lower()}.azurecr.io"
    c.setdefault("creationDate", utc_iso())
    if get_path(res.body, "properties.dataEndpointEnabled"):
        c["dataEndpointHostNames"] = [f"{res.name.lower()}.{res.location}.data.azurecr.io"]


@hook(VALIDATE, "Microsoft.ContainerRegistry/registries")
def _acr_validate(ctx, body):
    if ctx.existing is None and global_name_taken(ctx, ctx.type_name, ctx.name):
        raise ArmError(409, "AlreadyInUse", f"The registry {ctx.name} is already in use.")
