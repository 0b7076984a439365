"""Per-type behaviour, as data: LRO style, durations, in-use rules, references, inline children.

Durations are *Azure* seconds, in the proportions Azure shows (VPN gateway ~45
min, firewall ~10 min, Bastion ~8 min, Databricks ~5 min, public IP seconds),
multiplied by the configured time scale at run time. Create durations are here;
update and delete durations come from the provider's table of Azure's figures,
provider/arm/zt_arm_durations.def (where they come from is said there), which the
provider polls by: one set of figures for both.

LRO styles for PUT:
  'async'       201/200 + body (provisioningState in progress) + Azure-AsyncOperation + Location + Retry-After
  'accepted'    202, no body, Location + Retry-After on create; synchronous 200 on update (storage accounts)
  'accepted_async'  202, no body, Azure-AsyncOperation + Location + Retry-After on create and update (private DNS)
  'sync'        201/200 + body, Succeeded
DELETE: 'async' (202 + Location + Azure-AsyncOperation), 'location' (202 + Location), 'sync' (200);
a missing resource answers 204.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class RefRule:
    """A property that holds another resource's ID."""
    path: str                      # e.g. 'properties.ipConfigurations[*].properties.subnet.id'
    must_exist: bool = True        # 400 InvalidResourceReference if it does not
    blocks_delete: bool = True     # the target cannot be deleted while referenced
    backref: str | None = None     # read-only list on the target: 'properties.privateEndpoints'
    backref_single: bool = False   # the target shows a single {id} object instead of a list
    target_types: tuple = ()       # lower-case types the ID must be of (empty: any)


@dataclass(frozen=True)
class InUse:
    status: int
    code: str
    message: str                   # format fields: {name} {id} {users}


@dataclass(frozen=True)
class Inline:
    prop: str                      # property under 'properties' in the parent
    child: str                     # child type suffix, e.g. 'subnets'
    absent_means_empty: bool       # a parent PUT without the property deletes the children


@dataclass(frozen=True)
class TypeSpec:
    type_name: str
    put: str = "sync"
    delete: str = "sync"
    create_s: float = 0.0
    update_s: float | None = None
    delete_s: float = 0.0
    poll_s: float = 10.0
    tracked: bool = False
    creating_state: str = "Creating"
    updating_state: str = "Updating"
    lock: str = "self"             # 'self' or 'parent': whose lock a write takes (AnotherOperationInProgress)
    conflict_status: int = 409
    conflict_code: str = "AnotherOperationInProgress"
    sync_latency_s: float = 0.0    # how long a synchronous write holds its lock
    inline: tuple = ()
    blocking_children: tuple = ()  # child type suffixes that must be deleted first
    in_use: InUse | None = None
    refs: tuple = ()
    patch: str = "merge"           # 'tags': PATCH takes TagsObject only; 'merge': JSON merge of the model
    global_name: str | None = None  # code when the name is taken anywhere (names are DNS labels)
    name_error: str = "InvalidResourceName"
    weak_etag: bool = True
    rp_not_found: str = "ResourceNotFound"
    # operation monitors in the resource group instead of the subscription's locations/{l}/operations:
    # (status type, result type)
    rg_monitors: tuple = ()

    @property
    def lower(self):
        return self.type_name.lower()


NET = "Microsoft.Network"

IN_USE_SUBNET = InUse(400, "InUseSubnetCannotBeDeleted",
                      "Subnet {name} is in use by {users} and cannot be deleted. In order to delete the subnet, "
                      "delete all the resources within the subnet. See aka.ms/deletesubnet.")

_PRIVATE_DNS_MONITORS = ("privateDnsOperationStatuses", "privateDnsOperationResults")
_subnet_ref = dict(target_types=("microsoft.network/virtualnetworks/subnets",))
_pip_ref = dict(target_types=("microsoft.network/publicipaddresses",))

SPECS = [
    TypeSpec("Microsoft.Resources/resourceGroups", put="sync", delete="location", tracked=True,
             weak_etag=False),
    # ---------------------------------------------------------------- Microsoft.Network
    TypeSpec(f"{NET}/virtualNetworks", put="async", delete="async", create_s=10,
             tracked=True, creating_state="Updating",
             inline=(Inline("subnets", "subnets", True),
                     Inline("virtualNetworkPeerings", "virtualNetworkPeerings", False)),
             in_use=IN_USE_SUBNET, patch="tags"),
    TypeSpec(f"{NET}/virtualNetworks/subnets", put="async", delete="async", create_s=5,
             creating_state="Updating", lock="parent", in_use=IN_USE_SUBNET,
             refs=(RefRule("properties.networkSecurityGroup.id", backref="properties.subnets",
                           target_types=("microsoft.network/networksecuritygroups",)),
                   RefRule("properties.routeTable.id", backref="properties.subnets",
                           target_types=("microsoft.network/routetables",)),
                   RefRule("properties.natGateway.id", backref="properties.subnets",
                           target_types=("microsoft.network/natgateways",)))),
    TypeSpec(f"{NET}/virtualNetworks/virtualNetworkPeerings", put="async", delete="async", create_s=10,
             creating_state="Updating", lock="parent",
             refs=(RefRule("properties.remoteVirtualNetwork.id", blocks_delete=False,
                           target_types=("microsoft.network/virtualnetworks",)),)),
    TypeSpec(f"{NET}/networkSecurityGroups", put="async", delete="async", create_s=5,
             tracked=True, creating_state="Updating",
             inline=(Inline("securityRules", "securityRules", True),),
             in_use=InUse(400, "InUseNetworkSecurityGroupCannotBeDeleted",
                          "Network security group {id} cannot be deleted because it is in use by the following "
                          "resources: {users}. In order to delete the Network security group, remove the "
                          "association with the resource(s). To learn how to do this, see aka.ms/deletensg."),
             patch="tags"),
    TypeSpec(f"{NET}/networkSecurityGroups/securityRules", put="async", delete="async", create_s=3,
             creating_state="Updating", lock="parent"),
    TypeSpec(f"{NET}/routeTables", put="async", delete="async", create_s=5, tracked=True,
             creating_state="Updating", inline=(Inline("routes", "routes", True),),
             in_use=InUse(400, "InUseRouteTableCannotBeDeleted",
                          "Route table {id} is in use by {users} and cannot be deleted. In order to delete the "
                          "route table, remove the association with the subnet(s)."),
             patch="tags"),
    TypeSpec(f"{NET}/routeTables/routes", put="async", delete="async", create_s=3,
             creating_state="Updating", lock="parent"),
    TypeSpec(f"{NET}/natGateways", put="async", delete="async", create_s=15,
             tracked=True, creating_state="Updating", patch="tags",
             refs=(RefRule("properties.publicIpAddresses[*].id", backref="properties.natGateway",
                           backref_single=True, **_pip_ref),)),
    TypeSpec(f"{NET}/publicIPAddresses", put="async", delete="async", create_s=3,
             tracked=True, creating_state="Updating", patch="tags",
             in_use=InUse(400, "PublicIPAddressCannotBeDeleted",
                          "Public IP address {id} can not be deleted since it is still allocated to resource "
                          "{users}. In order to delete the public IP, disassociate/detach the Public IP address "
                          "from the resource.")),
    TypeSpec(f"{NET}/azureFirewalls", put="async", delete="async", create_s=600,
             tracked=True, creating_state="Updating", patch="tags",
             refs=(RefRule("properties.ipConfigurations[*].properties.subnet.id",
                           backref="properties.ipConfigurations", **_subnet_ref),
                   RefRule("properties.ipConfigurations[*].properties.publicIPAddress.id",
                           backref="properties.ipConfiguration", backref_single=True, **_pip_ref),
                   RefRule("properties.managementIpConfiguration.properties.subnet.id",
                           backref="properties.ipConfigurations", **_subnet_ref),
                   RefRule("properties.managementIpConfiguration.properties.publicIPAddress.id",
                           backref="properties.ipConfiguration", backref_single=True, **_pip_ref),
                   RefRule("properties.firewallPolicy.id", backref="properties.firewalls",
                           target_types=("microsoft.network/firewallpolicies",)))),
    TypeSpec(f"{NET}/firewallPolicies", put="async", delete="async", create_s=30,
             tracked=True, creating_state="Updating", patch="tags",
             refs=(RefRule("properties.basePolicy.id", backref="properties.childPolicies",
                           target_types=("microsoft.network/firewallpolicies",)),)),
    TypeSpec(f"{NET}/firewallPolicies/ruleCollectionGroups", put="async", delete="async", create_s=60,
             creating_state="Updating", lock="parent"),
    TypeSpec(f"{NET}/bastionHosts", put="async", delete="async", create_s=480,
             tracked=True, creating_state="Updating", patch="tags",
             refs=(RefRule("properties.ipConfigurations[*].properties.subnet.id",
                           backref="properties.ipConfigurations", **_subnet_ref),
                   RefRule("properties.ipConfigurations[*].properties.publicIPAddress.id",
                           backref="properties.ipConfiguration", backref_single=True, **_pip_ref))),
    TypeSpec(f"{NET}/virtualNetworkGateways", put="async", delete="async", create_s=2700,
             tracked=True, creating_state="Updating", patch="tags",
             refs=(RefRule("properties.ipConfigurations[*].properties.subnet.id",
                           backref="properties.ipConfigurations", **_subnet_ref),
                   RefRule("properties.ipConfigurations[*].properties.publicIPAddress.id",
                           backref="properties.ipConfiguration", backref_single=True, **_pip_ref))),
    TypeSpec(f"{NET}/privateEndpoints", put="async", delete="async", create_s=30,
             tracked=True, creating_state="Updating", patch="tags",
             refs=(RefRule("properties.subnet.id", backref="properties.privateEndpoints", **_subnet_ref),
                   RefRule("properties.privateLinkServiceConnections[*].properties.privateLinkServiceId",
                           blocks_delete=False),
                   RefRule("properties.manualPrivateLinkServiceConnections[*].properties.privateLinkServiceId",
                           blocks_delete=False))),
    TypeSpec(f"{NET}/privateEndpoints/privateDnsZoneGroups", put="async", delete="async", create_s=10,
             creating_state="Updating", lock="parent",
             refs=(RefRule("properties.privateDnsZoneConfigs[*].properties.privateDnsZoneId", blocks_delete=False,
                           target_types=("microsoft.network/privatednszones",)),)),
    TypeSpec(f"{NET}/networkInterfaces", put="async", delete="async", create_s=5, tracked=True,
             creating_state="Updating", patch="tags"),
    # ---------------------------------------------------------------- private DNS
    TypeSpec(f"{NET}/privateDnsZones", put="accepted_async", delete="async", create_s=30,
             tracked=True, blocking_children=("virtualNetworkLinks",), weak_etag=False,
             rg_monitors=_PRIVATE_DNS_MONITORS),
    TypeSpec(f"{NET}/privateDnsZones/virtualNetworkLinks", put="accepted_async", delete="async", create_s=30,
             tracked=True, weak_etag=False, rg_monitors=_PRIVATE_DNS_MONITORS,
             refs=(RefRule("properties.virtualNetwork.id", blocks_delete=False,
                           target_types=("microsoft.network/virtualnetworks",)),)),
    # ---------------------------------------------------------------- DNS resolver
    TypeSpec(f"{NET}/dnsResolvers", put="async", delete="async", create_s=60,
             tracked=True, creating_state="Updating", weak_etag=False,
             refs=(RefRule("properties.virtualNetwork.id", blocks_delete=False,
                           target_types=("microsoft.network/virtualnetworks",)),)),
    TypeSpec(f"{NET}/dnsResolvers/inboundEndpoints", put="async", delete="async", create_s=60,
             tracked=True, creating_state="Updating", weak_etag=False, lock="parent",
             refs=(RefRule("properties.ipConfigurations[*].subnet.id", backref="properties.ipConfigurations",
                           **_subnet_ref),)),
    TypeSpec(f"{NET}/dnsResolvers/outboundEndpoints", put="async", delete="async", create_s=60,
             tracked=True, creating_state="Updating", weak_etag=False, lock="parent",
             refs=(RefRule("properties.subnet.id", backref="properties.ipConfigurations", **_subnet_ref),)),
    TypeSpec(f"{NET}/networkWatchers/flowLogs", put="async", delete="async", create_s=30,
             tracked=True, creating_state="Updating"),
    # ---------------------------------------------------------------- Databricks
    TypeSpec("Microsoft.Databricks/workspaces", put="async", delete="async", create_s=300,
             tracked=True, creating_state="Accepted", updating_state="Updating", patch="tags",
             weak_etag=False),
    TypeSpec("Microsoft.Databricks/accessConnectors", put="async", delete="async", create_s=20,
             tracked=True, creating_state="Creating", weak_etag=False),
    # ---------------------------------------------------------------- Storage
    TypeSpec("Microsoft.Storage/storageAccounts", put="accepted", delete="sync", create_s=25, tracked=True,
             global_name="StorageAccountAlreadyTaken", name_error="AccountNameInvalid", weak_etag=False,
             creating_state="Creating"),
    TypeSpec("Microsoft.Storage/storageAccounts/blobServices", weak_etag=False),
    TypeSpec("Microsoft.Storage/storageAccounts/blobServices/containers", weak_etag=False),
    # ---------------------------------------------------------------- Key Vault
    TypeSpec("Microsoft.KeyVault/vaults", put="async", delete="sync", create_s=20, tracked=True,
             creating_state="RegisteringDns", updating_state="Succeeded", global_name="VaultAlreadyExists",
             name_error="VaultNameNotValid", weak_etag=False),
    TypeSpec("Microsoft.KeyVault/vaults/keys", weak_etag=False),
    # ---------------------------------------------------------------- identity and RBAC
    TypeSpec("Microsoft.ManagedIdentity/userAssignedIdentities", tracked=True, weak_etag=False),
    TypeSpec("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", lock="parent",
             sync_latency_s=2.0, conflict_status=409,
             conflict_code="ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
             weak_etag=False),
    TypeSpec("Microsoft.Authorization/roleAssignments", name_error="InvalidRoleAssignmentId", weak_etag=False),
    TypeSpec("Microsoft.Authorization/policyAssignments", weak_etag=False),
    TypeSpec("Microsoft.Authorization/policyDefinitions", weak_etag=False),
    TypeSpec("Microsoft.Authorization/policySetDefinitions", weak_etag=False),
    # ---------------------------------------------------------------- monitoring and the rest
    TypeSpec("Microsoft.OperationalInsights/workspaces", put="async", delete="async", create_s=20,
             tracked=True, creating_state="Creating", weak_etag=False),
    TypeSpec("Microsoft.Insights/components", tracked=True, weak_etag=False),
    TypeSpec("Microsoft.Insights/diagnosticSettings", weak_etag=False),
    TypeSpec("Microsoft.Insights/scheduledQueryRules", tracked=True, weak_etag=False,
             refs=(RefRule("properties.scopes[*]", blocks_delete=False),
                   RefRule("properties.actions.actionGroups[*]", blocks_delete=False,
                           target_types=("microsoft.insights/actiongroups",)))),
    TypeSpec("Microsoft.Insights/actionGroups", tracked=True, weak_etag=False),
    # Azure requires a location though the definitions do not (LocationRequired).
    TypeSpec("Microsoft.Insights/activityLogAlerts", tracked=True, weak_etag=False,
             refs=(RefRule("properties.actions.actionGroups[*].actionGroupId", blocks_delete=False,
                           target_types=("microsoft.insights/actiongroups",)),)),
    TypeSpec("Microsoft.Consumption/budgets", weak_etag=False,
             refs=(RefRule("properties.notifications.*.contactGroups[*]", blocks_delete=False,
                           target_types=("microsoft.insights/actiongroups",)),)),
    TypeSpec("Microsoft.ContainerRegistry/registries", put="async", delete="async", create_s=30,
             tracked=True, creating_state="Creating", weak_etag=False),
]

DURATIONS_DEF = Path(__file__).resolve().parents[2] / "provider" / "arm" / "zt_arm_durations.def"
_DURATION_LINE = re.compile(r'^ZT_ARM_DURATION\("([^"]+)",\s*([0-9.]+),\s*([0-9.]+)\)', re.M)


def load_durations(path: Path = DURATIONS_DEF) -> dict[str, tuple[float, float]]:
    """type (lower case) -> (update_s, delete_s) from the provider's table."""
    found = {m.group(1).lower(): (float(m.group(2)), float(m.group(3)))
             for m in _DURATION_LINE.finditer(path.read_text())}
    if not found:
        raise RuntimeError(f"no ZT_ARM_DURATION line in {path}")
    return found


def _with_durations(specs: list[TypeSpec], durations: dict[str, tuple[float, float]]) -> list[TypeSpec]:
    unknown = set(durations) - {s.lower for s in specs}
    if unknown:
        raise RuntimeError(f"{DURATIONS_DEF.name} names types the emulator does not model: {sorted(unknown)}")
    return [replace(s, update_s=durations[s.lower][0], delete_s=durations[s.lower][1])
            if s.lower in durations else s for s in specs]


SPECS = _with_durations(SPECS, load_durations())
_BY_TYPE = {s.lower: s for s in SPECS}


def spec_for(type_name: str, tracked_default: bool = False) -> TypeSpec:
    s = _BY_TYPE.get(type_name.lower())
    if s:
        return s
    return TypeSpec(type_name, tracked=tracked_default, weak_etag=type_name.lower().startswith("microsoft.network/"))


def put_duration(spec: TypeSpec, created: bool) -> float:
    if created:
        return spec.create_s
    return spec.create_s / 2 if spec.update_s is None else spec.update_s


# ------------------------------------------------------------------------------------------------
# JSON path helpers for RefRule paths ('a.b[*].c')
_TOKEN = re.compile(r"([^.\[\]]+)(\[\*\])?")


def path_values(obj, path: str) -> list:
    """Values at a dotted path; '[*]' fans out over a list."""
    cur = [obj]
    for m in _TOKEN.finditer(path):
        key, star = m.group(1), m.group(2)
        nxt = []
        for c in cur:
            if isinstance(c, dict) and key == "*":      # every value of a map
                nxt.extend(x for x in c.values() if x is not None)
            elif isinstance(c, dict):
                v = c.get(key)
                if v is None:   # case-insensitive fallback
                    for k in c:
                        if k.lower() == key.lower():
                            v = c[k]
                if v is None:
                    continue
                if star:
                    if isinstance(v, list):
                        nxt.extend(v)
                else:
                    nxt.append(v)
        cur = nxt
    return cur


def set_path(obj: dict, path: str, value):
    parts = path.split(".")
    cur = obj
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value


def get_path(obj, path: str, default=None):
    vals = path_values(obj, path)
    return vals[0] if vals else default
