"""Azure Policy rule evaluation, for the emulator's enforcement of Deny assignments on PUT.

The subset the built-in definitions in third_party/azure-policy use (the provider's plan-time evaluator,
provider/policy, implements the same): ``if`` with allOf/anyOf/not; ``field`` (aliases from
provider/policy/aliases.json, ``type``, ``name``, ``fullName``, ``location``, ``id``, ``kind``,
``tags``, ``tags[x]``/``tags.x``, ``identity.type``), ``value`` and ``count`` (field count with
``where``, value count); equals, notEquals, in, notIn, exists, like, notLike, contains, notContains,
containsKey, notContainsKey, less, lessOrEquals, greater, greaterOrEquals, match, notMatch,
matchInsensitively, notMatchInsensitively; template expressions ``[...]`` with parameters(), field(),
current(), concat(), first(), split(), empty(), equals(), padLeft(), toLower(), toUpper(), if(),
not(), and(), or(), length(), contains(), resourceGroup(), subscription(), requestContext().

Semantics (Microsoft's policy definition structure docs): string comparisons are case-insensitive
(match/notMatch excepted); a field with ``[*]`` holds when it holds for every element (none: true);
a legacy alias whose name has no ``[*]`` but whose path does holds when it holds for any element; a
property that is not in the body is null: ``exists: false`` holds, ``equals ''`` holds,
``like``/``contains``/``in`` do not, their negations do.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .resource_types import path_values

ALIAS_FILE = Path(__file__).resolve().parents[2] / "provider" / "policy" / "aliases.json"
_ALIASES: dict | None = None


class Unevaluable(Exception):
    """The rule uses something outside the supported subset."""


def aliases() -> dict:
    global _ALIASES
    if _ALIASES is None:
        data = json.loads(ALIAS_FILE.read_text())["aliases"]
        _ALIASES = {k.lower(): (k, v) for k, v in data.items()}
    return _ALIASES


class Context:
    """What a rule sees: the resource (ARM body with id, name, type, location), the definition's
    parameter values, the request's api-version, the resource group and subscription."""

    def __init__(self, resource: dict, params: dict, api_version: str = "", resource_group=None,
                 subscription=None, indexed: bool = True, primary: dict | None = None):
        self.resource = resource
        # In an existenceCondition, the field() function reads the resource the `if` matched.
        self.primary = primary
        self.params = params
        self.api_version = api_version
        self.resource_group = resource_group or {}
        self.subscription = subscription or {}
        # Whether the type is one Indexed-mode definitions cover (it supports tags and location).
        self.indexed = indexed
        self.counts = []            # (array path, current element) of the enclosing counts
        # ARM's evaluatedExpressions: the leaf conditions outside counts, in order.
        self.trace = []


# -- values ------------------------------------------------------------------------------------
def _walk(values, path: str):
    """Values at a dotted path with [*] fan-out; missing steps drop out."""
    return [v for x in values for v in path_values(x, path)]


def _alias_path(name: str) -> tuple[str, bool]:
    """(body path, legacy any-semantics) of an alias; Unevaluable when unknown."""
    hit = aliases().get(name.lower())
    if not hit:
        raise Unevaluable(f"alias {name} is not in the alias table")
    alias_name, path = hit
    return path, ("[*]" in path and "[*]" not in alias_name)


def _special(ctx: Context, name: str):
    """The non-alias fields. Returns (found, value)."""
    r = ctx.resource
    low = name.lower()
    if low in ("name", "type", "location", "id", "kind"):
        v = r.get(low)
        if low == "location" and isinstance(v, str):
            v = v.replace(" ", "").lower()
        return True, v
    if low == "fullname":
        return True, _full_name(r)
    if low == "tags":
        return True, r.get("tags")
    m = re.match(r"^tags(?:\[['\"]?(.+?)['\"]?\]|\.(.+))$", name, re.I)
    if m:
        tag = m.group(1) or m.group(2)
        tags = r.get("tags") or {}
        for k, v in tags.items():
            if k.lower() == tag.lower():
                return True, v
        return True, None
    if low.startswith("identity."):
        return True, (_walk([r], name) or [None])[0]
    return False, None


def _full_name(r: dict) -> str | None:
    rid = r.get("id") or ""
    parts = rid.split("/providers/")[-1].split("/")[2:]
    return "/".join(parts[::2]) if parts else r.get("name")


def field_value(ctx: Context, name: str):
    """('one', v) | ('all', [v...]) | ('any', [v...]) for a field reference."""
    found, v = _special(ctx, name)
    if found:
        return "one", v
    path, legacy = _alias_path(name)
    # inside a count over a prefix of this path: relative to the current element
    for arr_path, element in reversed(ctx.counts):
        if path.lower().startswith(arr_path.lower()):
            rest = path[len(arr_path):].lstrip(".")
            if not rest:
                return "one", element
            vals = _walk([element], rest)
            break
    else:
        rest = path
        vals = _walk([ctx.resource], path)
    if "[*]" not in rest:
        return "one", vals[0] if vals else None
    return ("any" if legacy else "all"), vals


# -- template expressions ------------------------------------------------------------------------
def is_expression(v) -> bool:
    return isinstance(v, str) and v.startswith("[") and not v.startswith("[[") and v.endswith("]")


def resolve(ctx: Context, v):
    if is_expression(v):
        return _Expr(v[1:-1], ctx).parse()
    if isinstance(v, str) and v.startswith("[["):
        return v[1:]
    return v


class _Expr:
    _TOK = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<id>[A-Za-z_][\w]*)|"
                      r"(?P<p>[(),.\[\]]))")

    def __init__(self, text: str, ctx: Context):
        self.toks = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = self._TOK.match(text, pos)
            if not m or m.end() == pos:
                raise Unevaluable(f"cannot parse expression [{text}]")
            pos = m.end()
            kind = m.lastgroup
            self.toks.append((kind, m.group(kind)))
        self.i = 0
        self.ctx = ctx

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, want=None):
        t = self.peek()
        if want and t[1] != want:
            raise Unevaluable(f"expected {want}")
        self.i += 1
        return t

    def parse(self):
        v = self.expr()
        if self.i != len(self.toks):
            raise Unevaluable("trailing tokens in expression")
        return v

    def expr(self):
        kind, text = self.take()
        if kind == "str":
            v = text[1:-1].replace("''", "'")
        elif kind == "num":
            v = float(text) if "." in text else int(text)
        elif kind == "id":
            args = []
            self.take("(")
            if self.peek()[1] != ")":
                args.append(self.expr())
                while self.peek()[1] == ",":
                    self.take(",")
                    args.append(self.expr())
            self.take(")")
            v = _call(self.ctx, text, args)
        else:
            raise Unevaluable(f"unexpected {text}")
        while self.peek()[1] in (".", "["):
            if self.take()[1] == ".":
                prop = self.take()[1]
                v = _member(v, prop)
            else:
                key = self.expr()
                self.take("]")
                v = v[key] if isinstance(v, list) else _member(v, key)
        return v


def _member(obj, prop):
    if not isinstance(obj, dict):
        return None
    for k, v in obj.items():
        if k.lower() == str(prop).lower():
            return v
    return None


def _call(ctx: Context, name: str, args: list):
    n = name.lower()
    if n == "parameters":
        if args[0] not in ctx.params:
            raise Unevaluable(f"parameter {args[0]} has no value")
        return ctx.params[args[0]]
    if n == "field":
        src = ctx
        if ctx.primary is not None:
            src = Context(ctx.primary, ctx.params, ctx.api_version, ctx.resource_group, ctx.subscription)
        kind, v = field_value(src, args[0])
        return v
    if n == "current":
        if not ctx.counts:
            raise Unevaluable("current() outside a count")
        if not args:
            return ctx.counts[-1][1]
        for arr_path, element in reversed(ctx.counts):
            if arr_path == f"\0value:{args[0]}":
                return element
        path, _ = _alias_path(args[0])
        for arr_path, element in reversed(ctx.counts):
            if path.lower().startswith(arr_path.lower()):
                rest = path[len(arr_path):].lstrip(".")
                vals = _walk([element], rest) if rest else [element]
                return vals[0] if vals else None
        raise Unevaluable(f"current({args[0]}) outside its count")
    if n == "concat":
        if all(isinstance(a, list) for a in args):
            return [x for a in args for x in a]
        return "".join(_str(a) for a in args)
    if n == "first":
        a = args[0]
        return (a[0] if a else None) if isinstance(a, list) else (a[0] if a else "")
    if n == "split":
        return _str(args[0]).split(args[1])
    if n == "empty":
        return args[0] in (None, "", [], {})
    if n == "equals":
        return _eq(args[0], args[1])
    if n == "padleft":
        return _str(args[0]).rjust(int(args[1]), str(args[2]) if len(args) > 2 else " ")
    if n == "tolower":
        return _str(args[0]).lower()
    if n == "toupper":
        return _str(args[0]).upper()
    if n == "if":
        return args[1] if args[0] else args[2]
    if n == "not":
        return not args[0]
    if n == "and":
        return all(args)
    if n == "or":
        return any(args)
    if n == "length":
        return len(args[0] or [])
    if n == "contains":
        hay, needle = args
        if isinstance(hay, str):
            return _str(needle).lower() in hay.lower()
        if isinstance(hay, dict):
            return any(k.lower() == _str(needle).lower() for k in hay)
        return any(_eq(x, needle) for x in hay or [])
    if n == "resourcegroup":
        return ctx.resource_group
    if n == "subscription":
        return ctx.subscription
    if n == "requestcontext":
        return {"apiVersion": ctx.api_version}
    raise Unevaluable(f"template function {name}() is not supported")


# -- comparisons ---------------------------------------------------------------------------------
def _str(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"), sort_keys=True)
    return str(v)


def _eq(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return a == b
    return _str(a).lower() == _str(b).lower()


def _order(a, b) -> int:
    """Numbers numerically, strings case-insensitively (dates compare as ISO strings)."""
    try:
        fa, fb = float(a), float(b)
        return (fa > fb) - (fa < fb)
    except (TypeError, ValueError):
        sa, sb = _str(a).lower(), _str(b).lower()
        return (sa > sb) - (sa < sb)


def _like(v, pattern) -> bool:
    """'*' is like's only wildcard; case-insensitive."""
    if v is None:
        return False
    parts = [re.escape(x) for x in _str(pattern).split("*")]
    return re.fullmatch(".*".join(parts), _str(v), re.I | re.S) is not None


def _match(v, pattern, insensitive) -> bool:
    """'#' a digit, '?' a letter, '.' any character, others literal."""
    if v is None:
        return False
    s, p = _str(v), _str(pattern)
    if len(s) != len(p):
        return False
    for c, q in zip(s, p):
        if q == "#":
            ok = c.isdigit()
        elif q == "?":
            ok = c.isalpha()
        elif q == ".":
            ok = True
        else:
            ok = c.lower() == q.lower() if insensitive else c == q
        if not ok:
            return False
    return True


def _op_holds(op: str, v, target, exists: bool) -> bool:
    o = op.lower()
    if o == "exists":
        want = target if isinstance(target, bool) else _str(target).lower() == "true"
        return exists == want
    if o == "equals":
        return _eq(v, target)
    if o == "notequals":
        return not _eq(v, target)
    if o == "in":
        return v is not None and any(_eq(v, t) for t in (target or []))
    if o == "notin":
        return not (v is not None and any(_eq(v, t) for t in (target or [])))
    if o == "like":
        return _like(v, target)
    if o == "notlike":
        return not _like(v, target)
    if o in ("contains", "notcontains"):
        if v is None:
            hit = False
        elif isinstance(v, list):
            hit = any(_eq(x, target) for x in v)
        else:
            hit = _str(target).lower() in _str(v).lower()
        return hit if o == "contains" else not hit
    if o in ("containskey", "notcontainskey"):
        hit = isinstance(v, dict) and any(k.lower() == _str(target).lower() for k in v)
        return hit if o == "containskey" else not hit
    if o in ("less", "lessorequals", "greater", "greaterorequals"):
        if v is None:
            return False
        c = _order(v, target)
        return {"less": c < 0, "lessorequals": c <= 0, "greater": c > 0, "greaterorequals": c >= 0}[o]
    if o in ("match", "notmatch", "matchinsensitively", "notmatchinsensitively"):
        hit = _match(v, target, "insensitively" in o)
        return hit if not o.startswith("not") else not hit
    raise Unevaluable(f"condition {op} is not supported")


OPERATORS = ("equals", "notEquals", "in", "notIn", "exists", "like", "notLike", "contains",
             "notContains", "containsKey", "notContainsKey", "less", "lessOrEquals", "greater",
             "greaterOrEquals", "match", "notMatch", "matchInsensitively", "notMatchInsensitively")
_OPS_LOW = {o.lower(): o for o in OPERATORS}


def _record(ctx: Context, kind: str, expr, path, value, op: str, target, result: bool):
    if ctx.counts:
        return
    ctx.trace.append({"result": "True" if result else "False", "expressionKind": kind,
                      "expression": expr, "path": path, "expressionValue": value,
                      "targetValue": target, "operator": op[:1].upper() + op[1:]})


def _operator(cond: dict):
    found = [(k, v) for k, v in cond.items() if k.lower() in _OPS_LOW]
    if len(found) != 1:
        raise Unevaluable(f"a condition needs exactly one operator: {sorted(cond)}")
    return found[0]


# -- conditions -----------------------------------------------------------------------------------
def holds(cond, ctx: Context) -> bool:
    if not isinstance(cond, dict):
        raise Unevaluable("a condition must be an object")
    keys = {k.lower(): k for k in cond}
    if "allof" in keys:
        return all(holds(c, ctx) for c in cond[keys["allof"]])
    if "anyof" in keys:
        return any(holds(c, ctx) for c in cond[keys["anyof"]])
    if "not" in keys:
        return not holds(cond[keys["not"]], ctx)
    op, target = _operator(cond)
    target = resolve(ctx, target)
    if "count" in keys:
        n = _count(cond[keys["count"]], ctx)
        r = _op_holds(op, n, target, True)
        _record(ctx, "Count", "count", None, n, op, target, r)
        return r
    if "value" in keys:
        v = resolve(ctx, cond[keys["value"]])
        r = _op_holds(op, v, target, v is not None)
        _record(ctx, "Value", cond[keys["value"]], None, v, op, target, r)
        return r
    if "field" in keys:
        name = resolve(ctx, cond[keys["field"]])
        kind, v = field_value(ctx, name)
        if kind == "one":
            r = _op_holds(op, v, target, v is not None)
        elif kind == "all":
            r = all(_op_holds(op, x, target, x is not None) for x in v)
        else:
            r = any(_op_holds(op, x, target, x is not None) for x in v)
        found, _ = _special(ctx, name)
        _record(ctx, "Field", name, name if found else _alias_path(name)[0], v, op, target, r)
        return r
    raise Unevaluable(f"unsupported condition {sorted(cond)}")


def _count(spec: dict, ctx: Context) -> int:
    keys = {k.lower(): k for k in spec}
    where = spec.get(keys["where"]) if "where" in keys else None
    if "field" in keys:
        name = resolve(ctx, spec[keys["field"]])
        path, _ = _alias_path(name)
        if not path.endswith("[*]"):
            raise Unevaluable(f"count over {name}, which is not an array alias")
        kind, elems = field_value(ctx, name)
        elems = elems if isinstance(elems, list) else []
        n = 0
        for e in elems:
            ctx.counts.append((path, e))
            try:
                n += 1 if where is None or holds(where, ctx) else 0
            finally:
                ctx.counts.pop()
        return n
    if "value" in keys:
        items = resolve(ctx, spec[keys["value"]]) or []
        name = spec.get(keys.get("name", ""), "")
        n = 0
        for e in items:
            ctx.counts.append((f"\0value:{name}", e))
            try:
                n += 1 if where is None or holds(where, ctx) else 0
            finally:
                ctx.counts.pop()
        return n
    raise Unevaluable("count needs field or value")


# -- definitions --------------------------------------------------------------------------------
def parameter_values(definition: dict, given: dict) -> dict:
    """The definition's parameters: given values, else defaults."""
    out = {}
    for name, spec in (definition.get("properties", {}).get("parameters") or {}).items():
        if name in given:
            out[name] = given[name]
        elif "defaultValue" in spec:
            out[name] = spec["defaultValue"]
    return out


def effect_of(definition: dict, ctx: Context) -> str:
    then = definition["properties"]["policyRule"]["then"]
    return _str(resolve(ctx, then.get("effect")))


def existence_holds(definition: dict, ctx: Context) -> bool:
    """An *IfNotExists definition's existenceCondition on a related resource (ctx.resource; the
    matched resource in ctx.primary); no condition: any related resource of the type will do."""
    details = definition["properties"]["policyRule"]["then"].get("details") or {}
    cond = details.get("existenceCondition")
    return True if cond is None else holds(cond, ctx)


def matches(definition: dict, ctx: Context) -> bool:
    """Whether the resource meets the definition's 'if' (Indexed mode: tracked types only)."""
    props = definition["properties"]
    if (props.get("mode") or "All").lower() == "indexed" and not ctx.indexed:
        return False
    return holds(props["policyRule"]["if"], ctx)
