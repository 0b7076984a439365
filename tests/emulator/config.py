"""Emulator settings (command line, control API) and the emulated clock."""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

DEFAULT_TENANT = "11111111-1111-1111-1111-111111111111"
DEFAULT_SUBSCRIPTION = "22222222-2222-2222-2222-222222222222"
DEFAULT_CLIENT_ID = "33333333-3333-3333-3333-333333333333"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
DEFAULT_CLIENT_OBJECT_ID = "44444444-4444-4444-4444-444444444444"
DEFAULT_REGION = "westeurope"
# First-party apps with a service principal in every tenant (object IDs differ per tenant).
AZURE_DATABRICKS_APP_ID = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"


def first_party_object_id(tenant_id: str, app_id: str) -> str:
    """The emulated tenant's (stable) object ID for a first-party app's service principal."""
    import uuid
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id.lower()}/{app_id.lower()}"))


@dataclass
class BucketSettings:
    capacity: float
    refill_per_second: float


@dataclass
class Config:
    # Emulated Azure seconds are multiplied by time_scale to get wall seconds: 0.001 makes a
    # 45-minute VPN gateway take 2.7 s.
    time_scale: float = 0.001
    tenant_id: str = DEFAULT_TENANT
    subscription_id: str = DEFAULT_SUBSCRIPTION
    default_region: str = DEFAULT_REGION
    # Retry-After (integer seconds) never goes below this; retry-after-ms carries the exact value.
    retry_after_floor: int = 1
    # Extensible-enum checking, see validator.ENUM_MODES.
    enum_mode: str = "strict"
    # Reject request bodies that break the definitions (400). When False they are only recorded.
    validate_bodies: bool = True
    page_size: int = 100
    token_lifetime: int = 3600
    require_provider_registration: bool = False
    throttling_enabled: bool = False
    buckets: dict = field(default_factory=lambda: {
        # ARM token buckets per subscription and principal (docs: reads 250 +25/s, writes/deletes 200 +10/s)
        "reads": BucketSettings(250, 25),
        "writes": BucketSettings(200, 10),
        "deletes": BucketSettings(200, 10),
    })
    default_hang_seconds: float = 60.0
    # A role assignment takes effect this many Azure seconds after it is created (RBAC propagation; Azure
    # documents "up to 10 minutes", minutes are typical). Enforced where a service uses a Key Vault key.
    rbac_propagation_seconds: float = 120.0

    def wall(self, azure_seconds: float) -> float:
        return max(0.0, azure_seconds * self.time_scale)

    def retry_after(self, azure_seconds: float) -> tuple[int, int]:
        """(Retry-After seconds, retry-after-ms) for a poll interval in Azure seconds."""
        wall = self.wall(azure_seconds)
        ms = max(1, int(math.ceil(wall * 1000)))
        return max(self.retry_after_floor, int(round(wall))), ms

    def as_dict(self):
        d = asdict(self)
        return d


def now() -> float:
    return time.monotonic()


def utc_iso(ts: float | None = None) -> str:
    ts = time.time() if ts is None else ts
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%07dZ" % int((ts % 1) * 1e7)
