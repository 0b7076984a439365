"""Request-body validator driven by bicep-types-az ``types.json`` files.

``validate(rtv, body)`` walks a PUT/PATCH body against the resource type's body
type and returns a ``Result`` with

* ``errors``   - what ARM (or the emulator's stricter reading) rejects: unknown
  property, missing required property, wrong JSON type, value outside a closed
  (or, by default, an extensible) enum, string pattern/length, integer range,
  array length, bad discriminator;
* ``warnings`` - accepted but suspicious: a read-only property sent (ARM ignores
  it), a property or enum value whose casing differs from the definition (ARM's
  deserialisers are case-insensitive);
* ``body``     - the body as the service keeps it: read-only properties removed,
  property names in their canonical casing;
* ``writeonly`` - paths of write-only properties (kept, but never returned).

Paths use ARM's JSON path notation: ``properties.subnets[0].properties.addressPrefix``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .specs import (FLAG_DEPLOYTIME_CONSTANT, FLAG_READONLY, FLAG_REQUIRED, FLAG_WRITEONLY,
                    ResourceTypeVersion, TypeFile)

# How values of an *extensible* enum (UnionType of string literals plus a plain
# string) are checked.  Azure models most enums as extensible ("modelAsString"),
# so the published definitions accept any string; the services themselves reject
# a misspelled value, and a misspelling is exactly what the tests want to catch.
ENUM_STRICT = "strict"   # value must match a published literal (case-insensitively)
ENUM_WARN = "warn"       # unknown value is a warning
ENUM_SPEC = "spec"       # as the definition says: any string is fine
ENUM_MODES = (ENUM_STRICT, ENUM_WARN, ENUM_SPEC)


@dataclass
class Issue:
    path: str
    code: str
    message: str

    def as_dict(self):
        return {"path": self.path, "code": self.code, "message": self.message}


@dataclass
class Result:
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    body: object = None
    writeonly: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


_pattern_cache: dict = {}


def _compile(pattern: str):
    if pattern not in _pattern_cache:
        try:
            # ECMA-262 flavoured patterns; the ones in the specs are Python-compatible except for
            # a few escapes that Python rejects, in which case the pattern is not checked.
            _pattern_cache[pattern] = re.compile(pattern)
        except re.error:
            _pattern_cache[pattern] = None
    return _pattern_cache[pattern]


def _jtype(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Walker:
    def __init__(self, tf: TypeFile, enum_mode: str, partial: bool = False):
        self.tf = tf
        self.enum_mode = enum_mode
        self.partial = partial      # PATCH bodies: required properties may be absent
        self.res = Result()

    def err(self, path, code, msg):
        self.res.errors.append(Issue(path, code, msg))

    def warn(self, path, code, msg):
        self.res.warnings.append(Issue(path, code, msg))

    # Each walk_* returns the sanitized value.
    def walk(self, tref, value, path):
        node = self.tf.resolve(tref)
        kind = node.get("$type")
        fn = getattr(self, "walk_" + kind, None)
        if fn is None:  # unknown node kind: accept
            return value
        return fn(node, value, path)

    def walk_AnyType(self, node, value, path):
        return value

    def walk_BooleanType(self, node, value, path):
        if not isinstance(value, bool):
            self.err(path, "InvalidPropertyType", f"Property '{path}' must be a boolean, got {_jtype(value)}.")
        return value

    def walk_IntegerType(self, node, value, path):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.err(path, "InvalidPropertyType", f"Property '{path}' must be an integer, got {_jtype(value)}.")
            return value
        lo, hi = node.get("minValue"), node.get("maxValue")
        if lo is not None and value < lo:
            self.err(path, "InvalidPropertyValue", f"Property '{path}' value {value} is less than the minimum {lo}.")
        if hi is not None and value > hi:
            self.err(path, "InvalidPropertyValue", f"Property '{path}' value {value} is greater than the maximum {hi}.")
        return value

    def walk_StringType(self, node, value, path):
        if not isinstance(value, str):
            self.err(path, "InvalidPropertyType", f"Property '{path}' must be a string, got {_jtype(value)}.")
            return value
        lo, hi = node.get("minLength"), node.get("maxLength")
        if lo is not None and len(value) < lo:
            self.err(path, "InvalidPropertyValue", f"Property '{path}' is shorter than the minimum length {lo}.")
        if hi is not None and len(value) > hi:
            self.err(path, "InvalidPropertyValue", f"Property '{path}' is longer than the maximum length {hi}.")
        pat = node.get("pattern")
        if pat:
            rx = _compile(pat)
            if rx is not None and not rx.search(value):
                self.err(path, "InvalidPropertyValue",
                         f"Property '{path}' value '{value}' does not match the pattern '{pat}'.")
        return value

    def walk_StringLiteralType(self, node, value, path):
        lit = node["value"]
        if not isinstance(value, str):
            self.err(path, "InvalidPropertyType", f"Property '{path}' must be the string '{lit}', got {_jtype(value)}.")
        elif value != lit:
            if value.lower() == lit.lower():
                self.warn(path, "CaseMismatch", f"Property '{path}' value '{value}' differs in case from '{lit}'.")
            else:
                self.err(path, "InvalidPropertyValue", f"Property '{path}' must be '{lit}', got '{value}'.")
        return value

    def walk_UnionType(self, node, value, path):
        elems = [self.tf.resolve(e) for e in node["elements"]]
        literals = [e["value"] for e in elems if e["$type"] == "StringLiteralType"]
        others = [e for e in elems if e["$type"] != "StringLiteralType"]
        if literals and all(e["$type"] == "StringType" for e in others):
            if not isinstance(value, str):
                self.err(path, "InvalidPropertyType", f"Property '{path}' must be a string, got {_jtype(value)}.")
                return value
            if value in literals:
                return value
            ci = [lit for lit in literals if lit.lower() == value.lower()]
            if ci:
                self.warn(path, "CaseMismatch", f"Property '{path}' value '{value}' differs in case from '{ci[0]}'.")
                return value
            allowed = ", ".join(f"'{x}'" for x in literals)
            if not others:   # closed enum
                self.err(path, "InvalidPropertyValue",
                         f"Property '{path}' value '{value}' is not one of the allowed values: {allowed}.")
            elif self.enum_mode == ENUM_STRICT:
                self.err(path, "InvalidPropertyValue",
                         f"Property '{path}' value '{value}' is not one of the published values: {allowed}.")
            elif self.enum_mode == ENUM_WARN:
                self.warn(path, "UnknownEnumValue",
                          f"Property '{path}' value '{value}' is not one of the published values: {allowed}.")
            for o in others:   # still check the fallback string's own constraints
                self.walk(o, value, path)
            return value
        # General union: accept if any member accepts.
        best = None
        for e in elems:
            sub = _Walker(self.tf, self.enum_mode, self.partial)
            out = sub.walk(e, value, path)
            if not sub.res.errors:
                self.res.warnings.extend(sub.res.warnings)
                self.res.writeonly.extend(sub.res.writeonly)
                return out
            if best is None or len(sub.res.errors) < len(best.res.errors):
                best = sub
        if best:
            self.res.errors.extend(best.res.errors)
        return value

    def walk_ArrayType(self, node, value, path):
        if not isinstance(value, list):
            self.err(path, "InvalidPropertyType", f"Property '{path}' must be an array, got {_jtype(value)}.")
            return value
        lo, hi = node.get("minLength"), node.get("maxLength")
        if lo is not None and len(value) < lo:
            self.err(path, "InvalidPropertyValue", f"Property '{path}' must have at least {lo} items.")
        if hi is not None and len(value) > hi:
            self.err(path, "InvalidPropertyValue", f"Property '{path}' must have at most {hi} items.")
        return [self.walk(node["itemType"], v, f"{path}[{i}]") for i, v in enumerate(value)]

    def walk_ObjectType(self, node, value, path, extra_props=None, top=False):
        props = dict(extra_props or {})
        props.update(node.get("properties", {}))
        return self._walk_object(node.get("name", "object"), props, node.get("additionalProperties"),
                                 value, path, top)

    def walk_DiscriminatedObjectType(self, node, value, path, top=False):
        if not isinstance(value, dict):
            self.err(path, "InvalidPropertyType", f"Property '{path or '(body)'}' must be an object, got {_jtype(value)}.")
            return value
        disc = node["discriminator"]
        dpath = _join(path, disc)
        elements = node["elements"]
        dval = value.get(disc)
        if dval is None:
            # case-insensitive key match
            for k in value:
                if k.lower() == disc.lower():
                    dval = value[k]
        if dval is None:
            self.err(dpath, "MissingRequiredProperty",
                     f"Required property '{dpath}' (discriminator of '{node.get('name')}') is missing; "
                     f"allowed: {', '.join(sorted(elements))}.")
            return self._walk_object(node.get("name", "object"), node.get("baseProperties", {}), None,
                                     value, path, top, skip_unknown=True)
        match = elements.get(dval) if isinstance(dval, str) else None
        if match is None and isinstance(dval, str):
            for k, v in elements.items():
                if k.lower() == dval.lower():
                    match = v
                    self.warn(dpath, "CaseMismatch", f"Property '{dpath}' value '{dval}' differs in case from '{k}'.")
        if match is None:
            self.err(dpath, "InvalidPropertyValue",
                     f"Property '{dpath}' value '{dval}' is not one of the allowed values: "
                     f"{', '.join(repr(k) for k in sorted(elements))}.")
            return value
        elem = self.tf.resolve(match)
        return self.walk_ObjectType(elem, value, path, extra_props=node.get("baseProperties", {}), top=top)

    def _walk_object(self, tname, props, additional, value, path, top, skip_unknown=False):
        if not isinstance(value, dict):
            self.err(path, "InvalidPropertyType", f"Property '{path or '(body)'}' must be an object, got {_jtype(value)}.")
            return value
        lower = {k.lower(): k for k in props}
        out = {}
        seen = set()
        for key, v in value.items():
            p = _join(path, key)
            canon = key if key in props else lower.get(key.lower())
            if canon is None:
                if additional is not None:
                    out[key] = self.walk(additional, v, p)
                elif not skip_unknown:
                    self.err(p, "UnknownProperty",
                             f"Could not find member '{key}' on object of type '{tname}'. Path '{p}'.")
                continue
            if canon != key:
                self.warn(p, "CaseMismatch", f"Property '{p}' should be spelled '{canon}'.")
            seen.add(canon)
            prop = props[canon]
            flags = prop.get("flags", 0)
            cp = _join(path, canon)
            if flags & FLAG_READONLY:
                if not (top and canon in ("id", "type", "apiVersion", "name", "etag", "systemData")):
                    self.warn(cp, "ReadOnlyPropertyIgnored",
                              f"Property '{cp}' is read-only; the service ignores it.")
                continue
            if v is None:        # JSON null: treated as absent by ARM
                continue
            if flags & FLAG_WRITEONLY:
                self.res.writeonly.append(cp)
            out[canon] = self.walk(prop["type"], v, cp)
        for name, prop in props.items():
            flags = prop.get("flags", 0)
            if self.partial:
                break
            if not flags & FLAG_REQUIRED or flags & FLAG_READONLY or name in seen:
                continue
            if top and flags & FLAG_DEPLOYTIME_CONSTANT:   # 'name': carried by the URL
                continue
            if value.get(name) is None and name not in seen:
                cp = _join(path, name)
                self.err(cp, "MissingRequiredProperty",
                         f"Required property '{name}' not found in JSON. Path '{path or '(body)'}'.")
        return out


def validate(rtv: ResourceTypeVersion, body, enum_mode: str = ENUM_STRICT, type_node=None,
             partial: bool = False) -> Result:
    """Validate a request body against a resource type's body type (or ``type_node`` if given).

    ``partial``: a PATCH body, where required properties may be left out."""
    w = _Walker(rtv.file, enum_mode, partial)
    node = type_node if type_node is not None else rtv.body
    if node.get("$type") == "DiscriminatedObjectType":
        out = w.walk_DiscriminatedObjectType(node, body, "", top=True)
    else:
        out = w.walk_ObjectType(node, body, "", top=True)
    w.res.body = out
    return w.res


def validate_name(rtv: ResourceTypeVersion, name: str) -> list:
    """Check a resource name from the URL against the body's 'name' property type."""
    node = rtv.body
    props = dict(node.get("baseProperties", {}))
    props.update(node.get("properties", {}))
    prop = props.get("name")
    if not prop:
        return []
    w = _Walker(rtv.file, ENUM_STRICT)
    w.walk(prop["type"], name, "name")
    return w.res.errors


def error_envelope(errors, type_label: str = "") -> dict:
    """ARM's 400 InvalidRequestContent envelope for a list of Issues."""
    first = errors[0]
    return {"error": {
        "code": "InvalidRequestContent",
        "message": "The request content was invalid and could not be deserialized: "
                   f"'{first.message}'" + (f" ({len(errors) - 1} more problem(s) in details)" if len(errors) > 1 else ""),
        "target": first.path,
        "details": [{"code": e.code, "target": e.path, "message": e.message} for e in errors],
    }}
