"""Loading Microsoft's bicep-types-az definitions (third_party/azure-specs).

The MANIFEST.md table says which (resource type, api-version, folder) triples the
project uses.  Every ``types.json`` in those folders is loaded, and every
``ResourceType`` in them becomes a known type at that api-version (so e.g. the
private DNS record sets or Key Vault secrets, which share a file with a type of
the manifest, are known too).  ``in_manifest`` tells the two apart.
"""
from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

# ResourceType.readableScopes / writableScopes bits (bicep-types ScopeType).
SCOPE_TENANT = 1
SCOPE_MANAGEMENT_GROUP = 2
SCOPE_SUBSCRIPTION = 4
SCOPE_RESOURCE_GROUP = 8
SCOPE_EXTENSION = 16

# ObjectType property flags.
FLAG_REQUIRED = 1
FLAG_READONLY = 2
FLAG_WRITEONLY = 4
FLAG_DEPLOYTIME_CONSTANT = 8
FLAG_IDENTIFIER = 16


def default_specs_dir() -> Path:
    """$ZT_AZURE_SPECS_DIR, else the copy vendored in the repository."""
    env = os.environ.get("ZT_AZURE_SPECS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "third_party" / "azure-specs"


@dataclass
class TypeFile:
    """One loaded types.json: a list of type nodes addressed by index."""
    folder: str
    types: list

    def resolve(self, ref):
        if isinstance(ref, dict) and "$ref" in ref:
            return self.types[int(ref["$ref"].rsplit("/", 1)[1])]
        return ref


@dataclass
class ResourceTypeVersion:
    type_name: str          # canonical casing as in types.json, e.g. Microsoft.Network/publicIPAddresses
    api_version: str
    file: TypeFile
    body: dict              # the body ObjectType / DiscriminatedObjectType node
    readable_scopes: int
    writable_scopes: int
    in_manifest: bool = False


@dataclass
class KnownType:
    type_name: str
    versions: dict = field(default_factory=dict)   # api-version -> ResourceTypeVersion

    @property
    def in_manifest(self) -> bool:
        return any(v.in_manifest for v in self.versions.values())


class SpecLibrary:
    def __init__(self, specs_dir: Path | str | None = None):
        self.dir = Path(specs_dir) if specs_dir else default_specs_dir()
        self.manifest: list[tuple[str, str, str]] = []
        self.types: dict[str, KnownType] = {}          # lower(type) -> KnownType
        self.namespaces: set[str] = set()              # lower(namespace)
        self._lock = threading.Lock()
        self._load()

    # -- loading ---------------------------------------------------------------------------------
    def _load(self):
        text = (self.dir / "MANIFEST.md").read_text()
        for line in text.splitlines():
            m = re.match(r"^\|\s*([A-Za-z]+\.[A-Za-z]+/[^|\s]+)\s*\|\s*([0-9]{4}-[0-9]{2}-[0-9]{2}[^|\s]*)\s*\|\s*([^|\s]+)\s*\|", line)
            if m:
                self.manifest.append((m.group(1), m.group(2), m.group(3)))
        manifest_keys = {(t.lower(), v) for t, v, _ in self.manifest}
        for folder in sorted({f for _, _, f in self.manifest}):
            path = self.dir / folder / "types.json"
            tf = TypeFile(folder, json.loads(path.read_text()))
            for node in tf.types:
                if node.get("$type") != "ResourceType":
                    continue
                name, _, version = node["name"].rpartition("@")
                kt = self.types.setdefault(name.lower(), KnownType(name))
                # prefer the casing of the manifest (monitor's 2016 file says microsoft.insights)
                for mt, _, _ in self.manifest:
                    if mt.lower() == name.lower():
                        kt.type_name = mt
                kt.versions[version] = ResourceTypeVersion(
                    type_name=kt.type_name, api_version=version, file=tf,
                    body=tf.resolve(node["body"]),
                    readable_scopes=node.get("readableScopes", 0),
                    writable_scopes=node.get("writableScopes", 0),
                    in_manifest=(name.lower(), version) in manifest_keys)
                self.namespaces.add(name.split("/")[0].lower())
        for kt in self.types.values():
            for v in kt.versions.values():
                v.type_name = kt.type_name

    # -- queries ---------------------------------------------------------------------------------
    def lookup(self, type_name: str) -> KnownType | None:
        return self.types.get(type_name.lower())

    def version(self, type_name: str, api_version: str) -> ResourceTypeVersion | None:
        kt = self.lookup(type_name)
        if not kt:
            return None
        return kt.versions.get(api_version)

    def supported_versions(self, type_name: str) -> list[str]:
        kt = self.lookup(type_name)
        return sorted(kt.versions) if kt else []

    def has_namespace(self, ns: str) -> bool:
        return ns.lower() in self.namespaces


_default: SpecLibrary | None = None
_default_lock = threading.Lock()


def default_library() -> SpecLibrary:
    global _default
    with _default_lock:
        if _default is None:
            _default = SpecLibrary()
        return _default
