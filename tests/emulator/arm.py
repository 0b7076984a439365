"""ARM request handling: routing of resource paths, PUT/GET/PATCH/DELETE/POST, lists, LRO status.

Per-type behaviour lives in ``resource_types`` (data) and ``behaviours`` (code for
the few types that compute things); this module is the generic engine.
"""
from __future__ import annotations

import copy
import json
import re
import threading

from . import behaviours, policy, resource_types
from .arm_ids import ArmPath, parse_id, segment_path, split_action
from .config import utc_iso
from .lro import FAILED, IN_PROGRESS, SUCCEEDED, Operation
from .protocol import ArmError, Request, Response, json_response
from .resource_types import TypeSpec, path_values, spec_for
from .specs import FLAG_READONLY, FLAG_REQUIRED, ResourceTypeVersion
from .store import Resource, deep_merge, system_data
from . import validator as validator_mod

API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$", re.I)
RG_TYPE = "Microsoft.Resources/resourceGroups"
# operation status monitors: any well-formed api-version is accepted
OP_TYPES = ("operations", "operationresults", "asyncoperations", "operationstatuses")
# monitors some providers keep in the resource group (private DNS): status, result
RG_OP_TYPES = ("privatednsoperationstatuses", "privatednsoperationresults")
STATUS_TYPES = ("operations", "asyncoperations", "operationstatuses", "privatednsoperationstatuses")


def _now_iso():
    return utc_iso()


class ArmService:
    def __init__(self, app):
        self.app = app

    # -- shortcuts ---------------------------------------------------------------------------
    @property
    def store(self):
        return self.app.store

    @property
    def ops(self):
        return self.app.ops

    @property
    def config(self):
        return self.app.config

    @property
    def lib(self):
        return self.app.lib

    # -- entry -------------------------------------------------------------------------------
    def handle(self, req: Request, ap: ArmPath, claims: dict) -> Response:
        api = req.q("api-version")
        if api is None or api == "":
            raise ArmError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.")
        if not API_VERSION_RE.match(api):
            raise ArmError(400, "InvalidApiVersionParameter",
                           f"The api-version '{api}' is invalid. The supported versions are "
                           f"'{','.join(self.lib.supported_versions(RG_TYPE))}'.")
        m = req.method
        sp = ap.special
        if sp == "subscriptions":  # those the caller has a role in
            return self._list([s.render() for s in self.store.subscriptions.values()
                               if s.allows(claims.get("oid"))], req)
        if sp == "subscription":
            return json_response(200, self._subscription(ap.subscription).render())
        if sp in ("providers", "provider", "providerRegister"):
            return self._providers(req, ap)
        if sp in ("resourceGroups", "resourceGroup", "rgResources"):
            self._subscription(ap.subscription)
            if sp == "rgResources":
                return self._rg_resources(req, ap)
            if sp == "resourceGroups":
                self._check_version(RG_TYPE, api, resource_type_error=False)
                rgs = [self.render(r) for r in self.store.of_type(RG_TYPE)
                       if r.scope_id.lower() == f"/subscriptions/{ap.subscription}".lower()]
                return self._list(rgs, req)
            return self._resource(req, ap, RG_TYPE, claims)
        if sp == "tenant":
            return policy.tenant_request(self, req, ap)
        # operation status monitors
        t = ap.target
        if len(t.types) == 2 and t.types[0].lower() == "locations" and t.types[1].lower() in OP_TYPES \
                and not ap.is_collection:
            return self._operation(req, ap)
        if len(t.types) == 1 and t.types[0].lower() in RG_OP_TYPES and not ap.is_collection:
            return self._operation(req, ap)
        if m == "POST":
            res_ap, action = split_action(ap)
            if action:
                return self._action(req, res_ap, action, claims)
        if ap.full_type.lower() in ("microsoft.keyvault/deletedvaults", "microsoft.keyvault/locations/deletedvaults"):
            return behaviours.keyvault_deleted(self, req, ap)
        return self._resource(req, ap, None, claims)

    # -- helpers for scope -------------------------------------------------------------------
    def _subscription(self, sub: str):
        s = self.store.subscriptions.get((sub or "").lower())
        if not s:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        return s

    def _rg(self, sub: str, rg: str) -> Resource | None:
        return self.store.get(f"/subscriptions/{sub}/resourceGroups/{rg}")

    def _require_rg(self, sub, rg, for_write=False) -> Resource:
        r = self._rg(sub, rg)
        if not r:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        if for_write and r.state == "Deleting":
            raise ArmError(409, "ResourceGroupBeingDeleted",
                           f"The resource group '{r.name}' is in deprovisioning state and cannot perform this "
                           f"operation.")
        return r

    def _check_version(self, type_name: str, api: str, resource_type_error=True):
        versions = self.lib.supported_versions(type_name)
        if api in versions:
            return
        if resource_type_error and not type_name.lower().startswith("microsoft.resources/"):
            short = type_name.split("/", 1)[1]
            raise ArmError(400, "NoRegisteredProviderFound",
                           f"No registered resource provider found for location '{self.config.default_region}' "
                           f"and API version '{api}' for type '{short}'. The supported api-versions are "
                           f"'{', '.join(versions)}'. The supported locations are '{self.config.default_region}'.")
        raise ArmError(400, "InvalidApiVersionParameter",
                       f"The api-version '{api}' is invalid. The supported versions are '{','.join(versions)}'.")

    def _resolve_type(self, ap: ArmPath) -> str:
        full = ap.full_type
        kt = self.lib.lookup(full)
        if kt:
            return kt.type_name
        ns = ap.target.namespace
        if not self.lib.has_namespace(ns):
            raise ArmError(400, "NoRegisteredProviderFound",
                           f"No registered resource provider found for namespace '{ns}'.")
        raise ArmError(400, "InvalidResourceType",
                       f"The resource type '{full.split('/', 1)[1]}' could not be found in the namespace '{ns}'.")

    def canonical_id(self, ap: ArmPath, type_name: str) -> str:
        """Resource ID with canonical type casing and the names' casing as stored."""
        if type_name == RG_TYPE:
            rg = self._rg(ap.subscription, ap.resource_group)
            return rg.id if rg else f"/subscriptions/{ap.subscription.lower()}/resourceGroups/{ap.resource_group}"
        scope = self._canonical_scope(ap)
        t = ap.target
        types = type_name.split("/")[1:]
        s = scope + f"/providers/{type_name.split('/')[0]}"
        # keep the names of existing ancestors as stored
        for i, ty in enumerate(types):
            s += f"/{ty}"
            if i < len(t.names):
                s += f"/{t.names[i]}"
                ex = self.store.get(s)
                if ex:
                    s = ex.id
        return s

    def _canonical_scope(self, ap: ArmPath) -> str:
        s = f"/subscriptions/{ap.subscription.lower()}" if ap.subscription else ""
        if ap.resource_group is not None:
            rg = self._rg(ap.subscription, ap.resource_group)
            s = rg.id if rg else s + f"/resourceGroups/{ap.resource_group}"
        for seg in ap.chain[:-1]:
            s += segment_path(seg)
            ex = self.store.get(s)
            if ex:
                s = ex.id
        return s

    # -- generic resource dispatch -----------------------------------------------------------
    def _resource(self, req: Request, ap: ArmPath, forced_type: str | None, claims: dict) -> Response:
        self._subscription(ap.subscription)
        type_name = forced_type or self._resolve_type(ap)
        api = req.q("api-version")
        self._check_version(type_name, api)
        self._check_registration(ap, type_name)
        rtv = self.lib.version(type_name, api)
        spec = spec_for(type_name, tracked_default=_location_required(rtv))
        if forced_type is None and ap.is_collection:
            if req.method != "GET":
                raise ArmError(405, "MethodNotAllowed", f"The requested method '{req.method}' is not allowed "
                                                        f"on a collection.")
            return self._with_backref_index(lambda: self._list_collection(req, ap, type_name))
        rid = self.canonical_id(ap, type_name) if forced_type is None else self.canonical_id(ap, RG_TYPE)
        m = req.method
        if m == "GET" or m == "HEAD":
            res = self._get_or_404(ap, rid, type_name)
            if m == "HEAD":
                return Response(204)
            return json_response(200, self._with_backref_index(lambda: self.render(res)),
                                 {"ETag": res.etag} if res.etag else None)
        if m == "PUT":
            return self._put(req, ap, rid, type_name, rtv, spec, claims)
        if m == "PATCH":
            return self._patch(req, ap, rid, type_name, rtv, spec, claims)
        if m == "DELETE":
            return self._delete(req, ap, rid, type_name, spec)
        raise ArmError(405, "MethodNotAllowed", f"The requested method '{m}' is not allowed.")

    def _check_registration(self, ap, type_name):
        if not self.config.require_provider_registration:
            return
        ns = type_name.split("/")[0]
        if ns.lower() in ("microsoft.resources", "microsoft.authorization"):
            return
        sub = self._subscription(ap.subscription)
        if ns.lower() not in sub.registered:
            raise ArmError(409, "MissingSubscriptionRegistration",
                           f"The subscription is not registered to use namespace '{ns}'. See "
                           f"https://aka.ms/rps-not-found for how to register subscriptions.",
                           details=[{"code": "MissingSubscriptionRegistration", "target": ns,
                                     "message": f"The subscription is not registered to use namespace '{ns}'."}])

    def _not_found(self, ap: ArmPath, type_name: str) -> ArmError:
        if type_name == RG_TYPE:
            return ArmError(404, "ResourceGroupNotFound", f"Resource group '{ap.resource_group}' could not be found.")
        t = ap.target
        short = t.namespace + "/" + "/".join(f"{ty}/{nm}" for ty, nm in zip(t.types, t.names))
        where = f" under resource group '{ap.resource_group}'" if ap.resource_group else ""
        return ArmError(404, "ResourceNotFound",
                        f"The Resource '{short}'{where} was not found. For more details please go to "
                        f"https://aka.ms/ARMResourceNotFoundFix")

    def _check_scope_exists(self, ap: ArmPath, type_name: str, for_write=False):
        """RG, extension scope and parent must exist (ARM's 404 codes)."""
        if type_name == RG_TYPE:
            return
        if ap.resource_group is not None:
            self._require_rg(ap.subscription, ap.resource_group, for_write=for_write)
        if len(ap.chain) > 1:
            scope = self._canonical_scope(ap)
            if not self.store.get(scope):
                sap = parse_id(scope)
                raise ArmError(404, "ResourceNotFound",
                               f"The Resource '{sap.full_type}/{sap.name}' under resource group "
                               f"'{ap.resource_group}' was not found. For more details please go to "
                               f"https://aka.ms/ARMResourceNotFoundFix" if sap and sap.chain else
                               f"The scope '{scope}' was not found.")
        pid = ap.parent_id()
        if pid:
            parent = self.store.get(self._canonical_scope(ap) + pid[len(ap.scope_id()):])
            if not parent:
                pname = ap.target.names[-2] if len(ap.target.names) >= 2 else "?"
                raise ArmError(404, "ParentResourceNotFound",
                               f"Can not perform requested operation on nested resource. Parent resource "
                               f"'{pname}' not found.")
            if for_write and parent.state == "Deleting":
                raise self._conflict(parent, self.ops.busy_op(parent.id))
            return parent
        return None

    def _get_or_404(self, ap, rid, type_name) -> Resource:
        res = self.store.get(rid)
        if res is None:
            self._check_scope_exists(ap, type_name)
            raise self._not_found(ap, type_name)
        return res

    # -- rendering ---------------------------------------------------------------------------
    def render(self, res: Resource, for_list=False) -> dict:
        if res.type_name == RG_TYPE:
            out = {"id": res.id, "name": res.name, "type": RG_TYPE, "location": res.location}
            if res.body.get("managedBy"):
                out["managedBy"] = res.body["managedBy"]
            out["tags"] = res.body.get("tags") or {}
            out["properties"] = {"provisioningState": res.state}
            return out
        spec = spec_for(res.type_name)
        rtv = self.lib.version(res.type_name, res.api_version)
        out = copy.deepcopy(res.body)
        for k in ("id", "name", "type", "etag", "apiVersion"):
            out.pop(k, None)
        head = {"id": res.id, "name": res.name, "type": res.type_name}
        if res.etag and _has_prop(rtv, "etag"):
            head["etag"] = res.etag
        if res.location is not None:
            head["location"] = res.location
        out = {**head, **out}
        deep_merge(out, res.computed)
        if _has_prop(rtv, "properties", "provisioningState"):
            out.setdefault("properties", {})["provisioningState"] = res.state
        for inl in spec.inline:
            kids = self.store.children(res.id, res.type_name + "/" + inl.child)
            out.setdefault("properties", {})[inl.prop] = [self.render(k) for k in kids]
        self._render_backrefs(res, out)
        behaviours.render(self, res, out)
        if _has_prop(rtv, "systemData"):
            out["systemData"] = system_data(res)
        for p in res.writeonly:
            _delete_path(out, p)
        return out

    _backrefs = threading.local()

    def _backref_index(self) -> dict:
        """target key -> [(backref path, single, referrer)] over the whole store, in store order."""
        idx: dict = {}
        for other in list(self.store.resources.values()):
            for rule, target in self.refs_of(other):
                if rule.backref:
                    idx.setdefault(target.lower(), []).append((rule, other))
        return idx

    def _with_backref_index(self, fn):
        """Run fn with one backref index for every resource it renders (a list renders many: scanning
        the store for each made a list of N members cost N store scans)."""
        if getattr(self._backrefs, "idx", None) is not None:
            return fn()
        self._backrefs.idx = self._backref_index()
        try:
            return fn()
        finally:
            self._backrefs.idx = None

    def _render_backrefs(self, res: Resource, out: dict):
        key = res.key
        found = {}
        idx = getattr(self._backrefs, "idx", None)
        if idx is not None:
            refs = idx.get(key, [])
        else:
            refs = [(rule, other) for other in self.store.resources.values()
                    for rule, target in self.refs_of(other) if rule.backref and target.lower() == key]
        for rule, other in refs:
            if other is res:
                continue
            found.setdefault((rule.backref, rule.backref_single), [])
            if other.id not in found[(rule.backref, rule.backref_single)]:
                found[(rule.backref, rule.backref_single)].append(other.id)
        for (path, single), ids in found.items():
            parts = path.split(".")
            cur = out
            for p in parts[:-1]:
                cur = cur.setdefault(p, {})
            if single:
                cur[parts[-1]] = {"id": ids[0]}
            else:
                lst = cur.setdefault(parts[-1], [])
                have = {(x.get("id") or "").lower() for x in lst if isinstance(x, dict)}
                lst.extend({"id": i} for i in ids if i.lower() not in have)

    def refs_of(self, res: Resource):
        """(RefRule, target id) for every reference a resource holds."""
        spec = spec_for(res.type_name)
        out = []
        for rule in spec.refs:
            for v in path_values(res.body, rule.path):
                if isinstance(v, str) and v:
                    out.append((rule, v))
        out.extend(behaviours.extra_refs(self, res))
        return out

    # -- PUT -----------------------------------------------------------------------------------
    def _parse_body(self, req: Request):
        ct = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if req.body and ct and not (ct == "application/json" or ct.endswith("+json") or ct == "text/json"):
            raise ArmError(415, "UnsupportedMediaType",
                           f"The content media type '{ct}' is not supported. Only 'application/json' is supported.")
        if not req.body:
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                         "deserialized: 'The request body is empty.'")
        try:
            body = json.loads(req.body)
        except (ValueError, UnicodeDecodeError) as e:
            raise ArmError(400, "InvalidRequestContent",
                           f"The request content was invalid and could not be deserialized: '{e}'.")
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                         "deserialized: 'Expected a JSON object.'")
        return body

    def validate_body(self, rtv: ResourceTypeVersion, body: dict, req: Request):
        res = validator_mod.validate(rtv, body, enum_mode=self.config.enum_mode)
        req.validation = res
        if res.errors and self.config.validate_bodies:
            env = validator_mod.error_envelope(res.errors)
            raise ArmError(400, "InvalidRequestContent", env["error"]["message"], target=env["error"]["target"],
                           details=env["error"]["details"])
        return res

    def _preconditions(self, req: Request, existing: Resource | None):
        im = req.headers.get("If-Match")
        inm = req.headers.get("If-None-Match")
        if inm and inm.strip() == "*" and existing is not None:
            raise ArmError(412, "PreconditionFailed",
                           "The specified precondition 'If-None-Match = *' failed: the resource already exists.")
        if im:
            if existing is None:
                raise ArmError(412, "PreconditionFailed",
                               f"The specified precondition 'If-Match = {im}' failed: the resource does not exist.")
            if im.strip() != "*" and _etag_norm(im) != _etag_norm(existing.etag):
                raise ArmError(412, "PreconditionFailed",
                               f"The specified precondition 'If-Match = {im}' failed. The current ETag is "
                               f"'{existing.etag}'.")

    def lock_domains(self, rid: str, spec: TypeSpec, parent_id: str | None) -> list:
        d = [rid]
        if spec.lock == "parent" and parent_id:
            d.append(parent_id)
        return d

    def _conflict(self, res_or_none, op: Operation | None, spec: TypeSpec | None = None) -> ArmError:
        spec = spec or (spec_for(res_or_none.type_name) if res_or_none else None)
        status = spec.conflict_status if spec else 409
        code = spec.conflict_code if spec else "AnotherOperationInProgress"
        url = ""
        if op:
            url = f" To retrieve status of the operation use uri: {self.app.base_url}{op.status_path()}" \
                  f"?api-version={op.api_version}."
        if code == "AnotherOperationInProgress":
            msg = (f"Another operation on this or dependent resource is in progress.{url} For more details about "
                   f"the operation refer to https://aka.ms/AnotherOperationInProgress.")
        else:
            msg = ("Too many Federated Identity Credentials are written concurrently for the managed identity "
                   f"'{res_or_none.name if res_or_none else ''}'. Please retry sequentially.")
        return ArmError(status, code, msg, details=[{"code": code, "message": msg}])

    def check_busy(self, domains: list, spec: TypeSpec, res: Resource | None):
        for d in domains:
            op = self.ops.busy_op(d)
            if op is not None:
                raise self._conflict(self.store.get(d) or res, op, spec)

    def _put(self, req, ap, rid, type_name, rtv, spec, claims) -> Response:
        body = self._parse_body(req)
        parent = self._check_scope_exists(ap, type_name, for_write=True)
        if type_name == RG_TYPE and ap.resource_group is not None:
            name = ap.resource_group
        else:
            name = ap.name
        name_errors = validator_mod.validate_name(rtv, name)
        if name_errors:
            raise ArmError(400, spec.name_error,
                           f"Resource name '{name}' is invalid: {name_errors[0].message}", target="name")
        vres = self.validate_body(rtv, body, req)
        clean = vres.body if isinstance(vres.body, dict) else body
        existing = self.store.get(rid)
        self._preconditions(req, existing)
        # location
        location = None
        if spec.tracked or "location" in clean:
            loc = clean.get("location")
            if not loc and existing is None and spec.tracked:
                raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
            location = _norm_location(loc) if loc else (existing.location if existing else None)
            if existing is not None and existing.location and location and location != existing.location:
                if type_name == RG_TYPE:
                    raise ArmError(409, "InvalidResourceGroupLocation",
                                   f"Invalid resource group location '{location}'. The Resource group already "
                                   f"exists in location '{existing.location}'.")
                raise ArmError(400, "InvalidResourceLocation",
                               f"The resource '{name}' already exists in location '{existing.location}' in resource "
                               f"group '{ap.resource_group}'. A resource with the same name cannot be created in "
                               f"location '{location}'. Please select a new resource name.")
            clean.pop("location", None)
        parent_id = parent.id if parent else None
        domains = self.lock_domains(rid, spec, parent_id)
        self.check_busy(domains, spec, existing)
        if existing is not None and existing.state == "Deleting":
            raise self._conflict(existing, self.ops.busy_op(existing.id), spec)
        ctx = behaviours.Ctx(self, req, ap, spec, rtv, claims, existing, parent, rid, name, type_name, location)
        behaviours.validate(ctx, clean)
        policy.enforce(ctx, clean, location, _indexed(rtv, type_name))
        # inline children checks (subnets inside a VNet PUT etc.)
        inline_plan = self._plan_inline(ctx, clean)
        # references must exist and be provisioned
        tmp = Resource(id=rid, type_name=type_name, name=name, api_version=rtv.api_version, body=clean)
        self.check_refs(tmp)
        for _, kid_body, kid_type, kid_id in inline_plan["upsert"]:
            self.check_refs(Resource(id=kid_id, type_name=kid_type, name="", api_version=rtv.api_version,
                                     body=kid_body))
        fault = self.app.faults.take_async_failure(req)
        created = existing is None
        duration = resource_types.put_duration(spec, created)
        lro = spec.put if duration > 0 else "sync"
        if lro == "accepted" and not created:
            lro = "sync"
        if lro == "accepted_async" and duration <= 0:
            lro = "sync"
        if fault and lro == "sync":
            raise ArmError(fault.get("status", 400), fault["code"], fault["message"])
        # -- apply
        principal = claims.get("oid") or claims.get("appid") or ""
        if created:
            res = Resource(id=rid, type_name=type_name, name=name, api_version=rtv.api_version, body=clean,
                           location=location, parent_id=parent_id, scope_id=self._canonical_scope(ap),
                           created_by=principal, changed_by=principal)
            if type_name == RG_TYPE:
                res.scope_id = f"/subscriptions/{ap.subscription.lower()}"
        else:
            res = existing
            res.body = clean
            res.api_version = rtv.api_version
            res.changed_by = principal
            if location:
                res.location = location
        res.writeonly = list(vres.writeonly)
        res.new_etag(spec.weak_etag)
        self.store.put(res)
        self._apply_inline(res, inline_plan)
        behaviours.on_write(ctx, res, created)
        if lro == "sync":
            res.state = "Succeeded"
            for kid in self._inline_kids(res):
                kid.state = "Succeeded"
            behaviours.on_provisioned(self, res)
            if spec.sync_latency_s > 0:
                wall = self.config.wall(spec.sync_latency_s)
                self.ops.start(kind="sync", resource_id=res.id, namespace=type_name.split("/")[0],
                               location=res.location or "global", subscription=ap.subscription,
                               api_version=rtv.api_version, duration_wall=wall, domains=domains)
                req.delay_after = wall
            r = json_response(201 if created else 200, self.render(res))
            if res.etag:
                r.headers["ETag"] = res.etag
            return r
        res.state = spec.creating_state if created else spec.updating_state
        for kid in self._inline_kids(res):
            if kid.op_id is None or kid.state != "Succeeded":
                kid.state = res.state

        def done(op, rid=res.id):
            r = self.store.get(rid)
            if r is None or r.op_id != op.id:
                return
            r.op_id = None
            r.state = FAILED if op.error else SUCCEEDED
            for kid in self._inline_kids(r):
                kid.state = r.state
            if not op.error:
                behaviours.on_provisioned(self, r)

        op = self.ops.start(kind="put", resource_id=res.id, namespace=type_name.split("/")[0],
                            location=res.location or (parent.location if parent else None) or
                            self.config.default_region,
                            subscription=ap.subscription, api_version=rtv.api_version,
                            duration_wall=self.config.wall(duration), poll_interval=spec.poll_s, on_done=done,
                            domains=domains, final_get=res.id,
                            error=({"code": fault["code"], "message": fault["message"]} if fault else None),
                            fail_status=(fault or {}).get("status", 400), monitor=self._monitor(spec, ap))
        res.op_id = op.id
        headers = self.lro_headers(op, async_header=(lro in ("async", "accepted_async")))
        if lro in ("accepted", "accepted_async"):
            return Response(202, None, _hdrs(headers))
        r = json_response(201 if created else 200, self.render(res), headers)
        if res.etag:
            r.headers["ETag"] = res.etag
        return r

    def _monitor(self, spec: TypeSpec, ap: ArmPath) -> tuple | None:
        """Resource-group operation monitors for the types that use them (private DNS)."""
        if not spec.rg_monitors or ap.resource_group is None:
            return None
        rg = self._rg(ap.subscription, ap.resource_group)
        return ((rg.id if rg else f"/subscriptions/{ap.subscription}/resourceGroups/{ap.resource_group}"),
                *spec.rg_monitors)

    def lro_headers(self, op: Operation, async_header=True, location=True) -> dict:
        base = self.app.base_url
        ra, ms = self.config.retry_after(op.poll_interval)
        h = {"Retry-After": str(ra), "retry-after-ms": str(ms), "x-ms-retry-after-ms": str(ms)}
        if async_header:
            h["Azure-AsyncOperation"] = f"{base}{op.status_path()}?api-version={op.api_version}"
        if location:
            h["Location"] = f"{base}{op.result_path()}?api-version={op.api_version}"
        return h

    def _inline_kids(self, res: Resource):
        spec = spec_for(res.type_name)
        out = []
        for inl in spec.inline:
            out.extend(self.store.children(res.id, res.type_name + "/" + inl.child))
        return out

    def _plan_inline(self, ctx, clean: dict) -> dict:
        """Work out which inline children a parent PUT creates, updates and deletes."""
        plan = {"upsert": [], "delete": []}
        spec = ctx.spec
        props = clean.get("properties") if isinstance(clean.get("properties"), dict) else None
        for inl in spec.inline:
            child_type = ctx.type_name + "/" + inl.child
            current = {k.name.lower(): k for k in self.store.children(ctx.rid, child_type)} if ctx.existing else {}
            given = props.get(inl.prop) if props else None
            if given is None and not inl.absent_means_empty:
                continue
            given = given or []
            names = set()
            for i, el in enumerate(given):
                if not isinstance(el, dict) or not el.get("name"):
                    raise ArmError(400, "InvalidRequestFormat",
                                   f"Cannot parse the request: 'properties.{inl.prop}[{i}].name' is required.",
                                   target=f"properties.{inl.prop}[{i}].name")
                nm = el["name"]
                if nm.lower() in names:
                    raise ArmError(400, "InvalidRequestFormat",
                                   f"Duplicate name '{nm}' in 'properties.{inl.prop}'.")
                names.add(nm.lower())
                kid_body = {k: v for k, v in el.items() if k not in ("name", "id", "etag", "type")}
                ex = current.get(nm.lower())
                kid_id = ex.id if ex else f"{ctx.rid}/{inl.child}/{nm}"
                plan["upsert"].append((nm, kid_body, child_type, kid_id))
            for low, kid in current.items():
                if low not in names:
                    self.check_in_use(kid)
                    plan["delete"].append(kid)
            if props is not None:
                props.pop(inl.prop, None)
        behaviours.validate_inline(ctx, plan)
        return plan

    def _apply_inline(self, parent: Resource, plan: dict):
        for kid in plan["delete"]:
            self.remove_resource(kid)
        for nm, kid_body, child_type, kid_id in plan["upsert"]:
            ex = self.store.get(kid_id)
            if ex is not None and ex.body == kid_body:
                continue
            if ex is None:
                ex = Resource(id=kid_id, type_name=child_type, name=nm, api_version=parent.api_version,
                              body=kid_body, parent_id=parent.id, scope_id=parent.scope_id,
                              created_by=parent.changed_by, changed_by=parent.changed_by)
            else:
                ex.body = kid_body
            ex.new_etag(spec_for(child_type).weak_etag)
            self.store.put(ex)

    def check_refs(self, res: Resource):
        for rule, target in self.refs_of(res):
            if not rule.must_exist:
                continue
            tgt = self.store.get(target)
            tap = parse_id(target)
            if tgt is None:
                if tap is None or not tap.chain:
                    raise ArmError(400, "LinkedInvalidPropertyId",
                                   f"Property id '{target}' at path '{rule.path}' is invalid. Expect fully "
                                   f"qualified resource Id that start with '/subscriptions/{{subscriptionId}}' or "
                                   f"'/providers/{{resourceProviderNamespace}}/'.", target=rule.path)
                raise ArmError(400, "InvalidResourceReference",
                               f"Resource {target} referenced by resource {res.id} was not found. Please make sure "
                               f"that the referenced resource exists, and that both resources are in the same "
                               f"region.", target=rule.path,
                               details=[{"code": "NotFound", "message": f"Resource {target} not found."}])
            if rule.target_types and tgt.type_name.lower() not in rule.target_types:
                raise ArmError(400, "InvalidResourceReference",
                               f"Resource {target} referenced by resource {res.id} is of type {tgt.type_name}, "
                               f"expected {' or '.join(rule.target_types)}.", target=rule.path)
            if tgt.state not in ("Succeeded",) and tgt.key != res.key:
                raise ArmError(409, "ReferencedResourceNotProvisioned",
                               f"Cannot proceed with operation because resource {tgt.id} used by resource {res.id} "
                               f"is not in Succeeded state. Resource is in {tgt.state} state and the last "
                               f"operation that updated/is updating the resource is Put"
                               f"{tgt.type_name.split('/')[-1][:1].upper()}{tgt.type_name.split('/')[-1][1:]}"
                               f"Operation.")

    # -- PATCH ---------------------------------------------------------------------------------
    def _patch(self, req, ap, rid, type_name, rtv, spec, claims) -> Response:
        body = self._parse_body(req)
        res = self._get_or_404(ap, rid, type_name)
        self._preconditions(req, res)
        self.check_busy(self.lock_domains(res.id, spec, res.parent_id), spec, res)
        if spec.patch == "tags" or type_name == RG_TYPE:
            extra = [k for k in body if k not in ("tags",) and not (type_name == RG_TYPE and k == "managedBy")]
            if extra:
                raise ArmError(400, "InvalidRequestContent",
                               f"The request content was invalid and could not be deserialized: 'Could not find "
                               f"member '{extra[0]}' on object of type 'TagsObject'. Path '{extra[0]}'.'",
                               target=extra[0])
            if "tags" in body:
                if not isinstance(body["tags"], dict) or not all(isinstance(v, str) for v in body["tags"].values()):
                    raise ArmError(400, "InvalidRequestContent", "'tags' must be an object of strings.",
                                   target="tags")
                res.body["tags"] = body["tags"]
        else:
            merged = _json_merge(copy.deepcopy(self._client_view(res)), body)
            vres = self.validate_body(rtv, merged, req)
            clean = vres.body
            clean.pop("location", None)
            res.body = clean
        res.new_etag(spec.weak_etag)
        res.changed_by = claims.get("oid") or ""
        r = json_response(200, self.render(res))
        if res.etag:
            r.headers["ETag"] = res.etag
        return r

    def _client_view(self, res: Resource) -> dict:
        out = copy.deepcopy(res.body)
        if res.location:
            out["location"] = res.location
        return out

    # -- DELETE --------------------------------------------------------------------------------
    def _delete(self, req, ap, rid, type_name, spec) -> Response:
        res = self.store.get(rid)
        if res is None:
            if type_name == RG_TYPE:
                raise self._not_found(ap, type_name)
            self._check_scope_exists(ap, type_name)
            if req.headers.get("If-Match"):
                raise ArmError(412, "PreconditionFailed", "The resource does not exist.")
            return Response(204)
        self._preconditions(req, res)
        if res.state == "Deleting":
            op = self.ops.busy_op(res.id)
            if op:   # a repeated DELETE of a resource being deleted: same operation
                return Response(202, None, _hdrs(self.lro_headers(op, async_header=spec.delete == "async")))
        domains = self.lock_domains(res.id, spec, res.parent_id)
        self.check_busy(domains, spec, res)
        if type_name == RG_TYPE:
            return self._delete_rg(req, ap, res)
        self.check_in_use(res)
        self._check_blocking_children(res, spec)
        behaviours.pre_delete(self, req, res)
        fault = self.app.faults.take_async_failure(req)
        lro = spec.delete if spec.delete_s > 0 else "sync"
        if lro == "sync":
            if fault:
                raise ArmError(fault.get("status", 400), fault["code"], fault["message"])
            self.remove_resource(res)
            return Response(200)
        res.state = "Deleting"

        def done(op, rid=res.id):
            r = self.store.get(rid)
            if r is None:
                return
            r.op_id = None
            if op.error:
                r.state = FAILED
                return
            self.remove_resource(r)

        op = self.ops.start(kind="delete", resource_id=res.id, namespace=type_name.split("/")[0],
                            location=res.location or self.config.default_region, subscription=ap.subscription,
                            api_version=req.q("api-version"), duration_wall=self.config.wall(spec.delete_s),
                            poll_interval=spec.poll_s, on_done=done, domains=domains,
                            error=({"code": fault["code"], "message": fault["message"]} if fault else None),
                            fail_status=(fault or {}).get("status", 400), monitor=self._monitor(spec, ap))
        res.op_id = op.id
        return Response(202, None, _hdrs(self.lro_headers(op, async_header=(lro == "async"))))

    def _delete_rg(self, req, ap, rg: Resource) -> Response:
        fault = self.app.faults.take_async_failure(req)
        rg.state = "Deleting"
        # Like ARM: resources inside go as the group's deletion runs; the slowest type sets the pace.
        content = self.store.descendants(rg.id)
        slowest = max([spec_for(r.type_name).delete_s for r in content] + [0])
        spec = spec_for(RG_TYPE)
        duration = spec.delete_s + slowest

        def done(op, rid=rg.id):
            r = self.store.get(rid)
            if r is None:
                return
            if op.error:
                r.state = "Succeeded"
                return
            for d in self.store.descendants(rid):
                if self.store.get(d.id) is not None:
                    self.remove_resource(d)
            self.remove_resource(r)

        op = self.ops.start(kind="rgdelete", resource_id=rg.id, namespace="Microsoft.Resources",
                            location=rg.location, subscription=ap.subscription, api_version=req.q("api-version"),
                            duration_wall=self.config.wall(duration), poll_interval=15, on_done=done,
                            domains=[rg.id],
                            error=({"code": fault["code"], "message": fault["message"]} if fault else None),
                            fail_status=(fault or {}).get("status", 400))
        return Response(202, None, _hdrs(self.lro_headers(op, async_header=False)))

    def check_in_use(self, res: Resource):
        """Raise the type's in-use error when another resource still references it (or its subnets)."""
        spec = spec_for(res.type_name)
        if not spec.in_use:
            return
        targets = {res.key: res}
        if res.type_name.lower() == "microsoft.network/virtualnetworks":
            targets = {k.key: k for k in self.store.children(res.id, res.type_name + "/subnets")}
        inner = res.key + "/"
        for other in list(self.store.resources.values()):
            if other.key == res.key or other.key.startswith(inner):
                continue
            for rule, target in self.refs_of(other):
                t = target.lower()
                if rule.blocks_delete and t in targets:
                    tgt = targets[t]
                    raise ArmError(spec.in_use.status, spec.in_use.code,
                                   spec.in_use.message.format(name=tgt.name, id=tgt.id, users=other.id))

    def _check_blocking_children(self, res: Resource, spec: TypeSpec):
        for child in spec.blocking_children:
            kids = self.store.children(res.id, res.type_name + "/" + child)
            if kids:
                names = ", ".join(f"'{k.type_name}/{k.name}'" for k in kids[:5])
                raise ArmError(409, "CannotDeleteResource",
                               f"Cannot delete resource while nested resources exist. Some existing nested "
                               f"resource IDs include: {names}. Please delete all nested resources before "
                               f"deleting this resource.")

    def remove_resource(self, res: Resource):
        """Remove a resource and everything below it (children, extension resources)."""
        for d in self.store.descendants(res.id):
            if self.store.get(d.id) is not None:
                self._remove_one(d)
        self._remove_one(res)

    def _remove_one(self, res: Resource):
        self.store.remove(res.id)
        self.store.release_ips(res.id)
        behaviours.on_removed(self, res)

    # -- lists ---------------------------------------------------------------------------------
    def _list(self, items: list, req: Request, render=None) -> Response:
        """One page of items; with render, items are resources and only the page's are rendered
        (a large collection is listed a page at a time: rendering every member for each page made
        a list of N members in P pages cost N x P renders)."""
        size = max(1, int(self.config.page_size))
        skip = int(req.q("$skiptoken") or 0)
        top = req.q("$top")
        if top:
            items = items[:int(top)]
        page = items[skip: skip + size]
        if render is not None:
            page = [render(r) for r in page]
        body = {"value": page}
        if skip + size < len(items):
            qs = "&".join(f"{k}={v}" for k, v in req.query.items() if k.lower() != "$skiptoken")
            body["nextLink"] = f"{self.app.base_url}{req.path}?{qs}&$skiptoken={skip + size}"
        return json_response(200, body)

    def _list_collection(self, req, ap: ArmPath, type_name: str) -> Response:
        t = ap.target
        if len(t.types) > 1:
            self._check_scope_exists(ap, type_name)
            parent_id = self._canonical_scope(ap) + ap.parent_id()[len(ap.scope_id()):]
            return self._list(self.store.children(parent_id, type_name), req, self.render)
        scope = self._canonical_scope(ap)
        if ap.resource_group is not None:
            self._require_rg(ap.subscription, ap.resource_group)
        if len(ap.chain) > 1 and not self.store.get(scope):
            raise ArmError(404, "ResourceNotFound", f"The scope '{scope}' was not found.")
        low = scope.lower()
        if type_name.lower() == policy.ASSIGNMENTS:
            at_scope = "atscope()" in (req.q("$filter") or "").replace(" ", "").lower()
            return self._list([self.render(r) for r in policy.assignments_at(self, scope, at_scope)], req)
        members = []
        for r in self.store.of_type(type_name):
            if len(ap.chain) > 1 or type_name.lower().startswith("microsoft.authorization/"):
                ok = r.scope_id.lower() == low or r.scope_id.lower().startswith(low + "/")
            else:
                ok = r.key.startswith(low + "/")
            if ok:
                members.append(r)
        if type_name.lower() == policy.DEFS and ap.resource_group is None and len(ap.chain) == 1:
            return self._list(policy.list_builtins_under_subscription([self.render(r) for r in members]), req)
        return self._list(members, req, self.render)

    def _rg_resources(self, req, ap) -> Response:
        rg = self._require_rg(ap.subscription, ap.resource_group)
        items = []
        prefix = rg.key + "/providers/"
        for r in self.store.in_scope(prefix):
            if r.parent_id or "/providers/" in r.key[len(prefix):]:
                continue   # top-level resources only
            it = {"id": r.id, "name": r.name, "type": r.type_name}
            if r.location:
                it["location"] = r.location
            if r.body.get("tags"):
                it["tags"] = r.body["tags"]
            for k in ("kind", "sku", "identity", "managedBy"):
                if k in r.body:
                    it[k] = r.body[k]
            items.append(it)
        return self._list(items, req)

    # -- providers -----------------------------------------------------------------------------
    def _providers(self, req, ap) -> Response:
        sub = self._subscription(ap.subscription)
        def prov(ns_low):
            name = next((kt.type_name.split("/")[0] for kt in self.lib.types.values()
                         if kt.type_name.split("/")[0].lower() == ns_low), ns_low)
            registered = (not self.config.require_provider_registration) or ns_low in sub.registered
            types = sorted({kt.type_name.split("/", 1)[1] for kt in self.lib.types.values()
                            if kt.type_name.split("/")[0].lower() == ns_low})
            return {"id": f"/subscriptions/{sub.subscription_id}/providers/{name}", "namespace": name,
                    "registrationState": "Registered" if registered else "NotRegistered",
                    "resourceTypes": [{"resourceType": t, "locations": [self.config.default_region],
                                       "apiVersions": self.lib.supported_versions(name + "/" + t)}
                                      for t in types]}
        if ap.special == "providers":
            return self._list([prov(ns) for ns in sorted(self.lib.namespaces)], req)
        ns = ap.provider_namespace.lower()
        if ns not in self.lib.namespaces:
            raise ArmError(404, "InvalidResourceNamespace",
                           f"The resource namespace '{ap.provider_namespace}' is invalid.")
        if ap.special == "providerRegister":
            if req.method != "POST":
                raise ArmError(405, "MethodNotAllowed", "Use POST to register a provider.")
            sub.registered.add(ns)
        return json_response(200, prov(ns))

    # -- operations ----------------------------------------------------------------------------
    def _operation(self, req, ap) -> Response:
        op_id = ap.name
        op = self.ops.get(op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
        kind = ap.target.types[-1].lower()
        if kind in STATUS_TYPES:
            return json_response(200, op.status_body(), self._op_retry_headers(op))
        # Location (operationResults)
        if op.status == IN_PROGRESS:
            h = self.lro_headers(op, async_header=False)
            return Response(202, None, _hdrs(h))
        if op.status == FAILED:
            return json_response(op.fail_status, {"error": op.error})
        if op.final_get and op.kind in ("put", "patch"):
            res = self.store.get(op.final_get)
            if res is not None:
                return json_response(200, self.render(res))
        return Response(204) if op.kind in ("delete", "rgdelete", "purge") else Response(200, None)

    def _op_retry_headers(self, op):
        if op.status != IN_PROGRESS:
            return {}
        ra, ms = self.config.retry_after(op.poll_interval)
        return {"Retry-After": str(ra), "retry-after-ms": str(ms), "x-ms-retry-after-ms": str(ms)}

    # -- POST actions ----------------------------------------------------------------------------
    def _action(self, req, res_ap: ArmPath, action: str, claims) -> Response:
        return behaviours.action(self, req, res_ap, action, claims)


# ------------------------------------------------------------------------------------------------
def _hdrs(d: dict):
    from .protocol import Headers
    h = Headers()
    for k, v in d.items():
        h[k] = v
    return h


def _norm_location(loc) -> str:
    if not isinstance(loc, str):
        return loc
    return loc.replace(" ", "").lower()


def _etag_norm(e: str) -> str:
    e = (e or "").strip()
    if e.startswith("W/"):
        e = e[2:]
    return e.strip('"')


def _has_prop(rtv: ResourceTypeVersion | None, *path) -> bool:
    if rtv is None:
        return path[0] in ("properties", "etag")
    node = rtv.body
    tf = rtv.file
    for p in path:
        props = dict(node.get("baseProperties", {}))
        props.update(node.get("properties", {}))
        if p not in props:
            return False
        node = tf.resolve(props[p]["type"])
    return True


def _indexed(rtv: ResourceTypeVersion | None, type_name: str) -> bool:
    """Whether Azure Policy's Indexed mode covers the type: it takes tags and a location of its own
    (a read-only location, as Key Vault keys report their vault's, does not count; nor do resource
    groups)."""
    if rtv is None or type_name == RG_TYPE or not _has_prop(rtv, "tags"):
        return False
    prop = rtv.body.get("properties", {}).get("location")
    return bool(prop) and not prop.get("flags", 0) & FLAG_READONLY


def _location_required(rtv: ResourceTypeVersion | None) -> bool:
    if rtv is None:
        return False
    prop = rtv.body.get("properties", {}).get("location")
    return bool(prop and prop.get("flags", 0) & FLAG_REQUIRED)


def _delete_path(obj, path: str):
    parts = re.split(r"\.(?![^\[]*\])", path)
    cur = obj
    for p in parts[:-1]:
        m = re.match(r"^(.*)\[(\d+)\]$", p)
        if m:
            cur = cur.get(m.group(1), []) if isinstance(cur, dict) else []
            idx = int(m.group(2))
            cur = cur[idx] if isinstance(cur, list) and idx < len(cur) else None
        else:
            cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is None:
            return
    if isinstance(cur, dict):
        last = parts[-1]
        m = re.match(r"^(.*)\[(\d+)\]$", last)
        if not m:
            cur.pop(last, None)


def _json_merge(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = _json_merge(target.get(k), v)
    return target
