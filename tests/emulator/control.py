"""Control API under /__emulator/ (no authentication; loopback test fixture). See README.md."""
from __future__ import annotations

import copy
import json
import re

from .config import BucketSettings
from .protocol import Request, Response, json_response
from .resource_types import set_path
from .arm_ids import parse_id
from .store import Resource, Subscription, deep_merge
from .validator import ENUM_MODES

CONFIG_KEYS = {"time_scale": float, "enum_mode": str, "validate_bodies": bool, "page_size": int,
               "token_lifetime": int, "retry_after_floor": int, "require_provider_registration": bool,
               "default_hang_seconds": float, "default_region": str, "rbac_propagation_seconds": float}


class Control:
    def __init__(self, app):
        self.app = app
        self.routes = [
            ("GET", r"/health", self.health),
            ("GET", r"/info", self.info),
            ("POST", r"/reset", self.reset),
            ("GET", r"/store", self.dump_store),
            ("GET", r"/requests", self.requests),
            ("DELETE", r"/requests", self.clear_requests),
            ("GET", r"/config", self.get_config),
            ("POST", r"/config", self.set_config),
            ("POST", r"/time-scale", self.time_scale),
            ("GET", r"/throttling", self.get_throttling),
            ("POST", r"/throttling", self.set_throttling),
            ("GET", r"/faults", self.list_faults),
            ("POST", r"/faults", self.add_fault),
            ("DELETE", r"/faults", self.clear_faults),
            ("DELETE", r"/faults/(?P<id>[^/]+)", self.delete_fault),
            ("POST", r"/drift", self.drift),
            ("POST", r"/resources", self.seed_resource),
            ("GET", r"/operations", self.list_operations),
            ("POST", r"/operations/complete", self.complete_operations),
            ("POST", r"/subscriptions", self.add_subscription),
            ("GET", r"/clients", self.list_clients),
            ("POST", r"/clients", self.add_client),
            ("GET", r"/issuers", self.list_issuers),
            ("POST", r"/issuers", self.add_issuer),
            ("POST", r"/issuers/(?P<name>[^/]+)/mint", self.mint_oidc),
            ("POST", r"/tokens", self.mint_token),
            ("GET", r"/imds", self.get_imds),
            ("POST", r"/imds", self.set_imds),
        ]

    def handle(self, req: Request) -> Response:
        sub = req.path[len("/__emulator"):] or "/"
        sub = sub.rstrip("/") or "/"
        allowed = []
        for method, pattern, fn in self.routes:
            m = re.fullmatch(pattern, sub)
            if not m:
                continue
            if method != req.method:
                allowed.append(method)
                continue
            body = {}
            if req.body:
                try:
                    body = json.loads(req.body)
                except ValueError as e:
                    return json_response(400, {"error": {"code": "BadRequest", "message": f"invalid JSON: {e}"}})
            try:
                with self.app.store.lock:
                    out = fn(req, body, **m.groupdict())
            except (ValueError, KeyError, TypeError) as e:
                return json_response(400, {"error": {"code": "BadRequest", "message": f"{type(e).__name__}: {e}"}})
            if isinstance(out, Response):
                return out
            return json_response(200, out)
        if allowed:
            return json_response(405, {"error": {"code": "MethodNotAllowed", "message": f"use {allowed}"}})
        return json_response(404, {"error": {"code": "NotFound", "message": f"no control route {sub}"}})

    # -- general -----------------------------------------------------------------------------------------
    def health(self, req, body):
        return {"status": "ok"}

    def info(self, req, body):
        return self.app.state

    def reset(self, req, body):
        self.app.reset()
        return {"status": "reset"}

    def dump_store(self, req, body):
        self.app.ops.tick()
        t = (req.q("type") or "").lower()
        arm = self.app.arm
        res = [{"id": r.id, "type": r.type_name, "state": r.state, "system": r.system, "resource": arm.render(r)}
               for r in sorted(self.app.store.resources.values(), key=lambda r: r.seq)
               if not t or r.type_name.lower() == t]
        return {"resources": res,
                "deleted_vaults": [copy.deepcopy(v["record"]) for v in self.app.store.deleted_vaults.values()],
                "subscriptions": [s.render() for s in self.app.store.subscriptions.values()],
                "operations": [op.status_body() | {"resource_id": op.resource_id, "kind": op.kind}
                               for op in self.app.ops.ops.values()]}

    def requests(self, req, body):
        since = int(req.q("since") or 0)
        kind = req.q("kind")
        items = self.app.recorder.since(since)
        if kind:
            items = [e for e in items if e["kind"] == kind]
        return {"value": items}

    def clear_requests(self, req, body):
        self.app.recorder.clear()
        return {"status": "cleared"}

    def get_config(self, req, body):
        d = self.app.config.as_dict()
        return d

    def set_config(self, req, body):
        cfg = self.app.config
        for k, v in body.items():
            if k not in CONFIG_KEYS:
                raise ValueError(f"unknown config key '{k}'; one of {sorted(CONFIG_KEYS)}")
            if k == "enum_mode" and v not in ENUM_MODES:
                raise ValueError(f"enum_mode must be one of {ENUM_MODES}")
            if k == "time_scale" and float(v) < 0:
                raise ValueError("time_scale must be >= 0")
            setattr(cfg, k, CONFIG_KEYS[k](v))
        return cfg.as_dict()

    def time_scale(self, req, body):
        v = body.get("scale", body.get("time_scale"))
        if v is None or float(v) < 0:
            raise ValueError("body needs {\"scale\": <float >= 0>}")
        self.app.config.time_scale = float(v)
        return {"time_scale": self.app.config.time_scale}

    # -- throttling ---------------------------------------------------------------------------------------------
    def get_throttling(self, req, body):
        c = self.app.config
        return {"enabled": c.throttling_enabled,
                **{k: {"capacity": b.capacity, "refill_per_second": b.refill_per_second} for k, b in c.buckets.items()}}

    def set_throttling(self, req, body):
        c = self.app.config
        if "enabled" in body:
            c.throttling_enabled = bool(body["enabled"])
        for cls in ("reads", "writes", "deletes"):
            if cls in body:
                b = body[cls]
                old = c.buckets[cls]
                c.buckets[cls] = BucketSettings(float(b.get("capacity", old.capacity)),
                                                float(b.get("refill_per_second", b.get("refill", old.refill_per_second))))
        self.app.throttle.reset()
        return self.get_throttling(req, body)

    # -- faults ----------------------------------------------------------------------------------------------------
    def list_faults(self, req, body):
        return {"value": self.app.faults.list()}

    def add_fault(self, req, body):
        specs = body if isinstance(body, list) else [body]
        out = [self.app.faults.add(s).as_dict() for s in specs]
        return out[0] if not isinstance(body, list) else {"value": out}

    def clear_faults(self, req, body):
        self.app.faults.clear()
        return {"status": "cleared"}

    def delete_fault(self, req, body, id):
        if not self.app.faults.remove(id):
            return json_response(404, {"error": {"code": "NotFound", "message": f"no fault {id}"}})
        return {"status": "deleted"}

    # -- drift -------------------------------------------------------------------------------------------------------
    def seed_resource(self, req, body):
        """{"id": ARM id, "location"?, "body"?}: a resource that exists outside the platform under test (of any
        type, e.g. a Service Bus namespace, which the specs do not cover), for references and role assignment
        scopes, or a custom role definition at subscription scope. Its resource group (or subscription) must exist;
        its type's own API stays unserved."""
        ap = parse_id(body["id"])
        if ap is None or not ap.chain or ap.is_collection or not ap.subscription:
            raise ValueError(f"{body['id']!r} is not a resource ID in a subscription")
        if ap.resource_group is not None:
            self.app.arm._require_rg(ap.subscription, ap.resource_group)
        else:
            self.app.arm._subscription(ap.subscription)
        res = Resource(id=ap.resource_id(), type_name=ap.full_type, name=ap.name, api_version="seeded",
                       body=copy.deepcopy(body.get("body") or {}), location=body.get("location"),
                       scope_id=ap.scope_id(), parent_id=ap.parent_id())
        res.new_etag(False)
        self.app.store.put(res)
        return {"status": "created", "resource": self.app.arm.render(res)}

    def drift(self, req, body):
        """{"id": ARM id, "action": "modify"|"delete"|"state", "merge": {...}, "set": {"a.b": v}, "state": "Failed"}"""
        rid = body["id"]
        res = self.app.store.get(rid)
        action = body.get("action", "modify")
        if res is None:
            return json_response(404, {"error": {"code": "ResourceNotFound", "message": f"{rid} not in the store"}})
        if action == "delete":
            self.app.arm.remove_resource(res)
            return {"status": "deleted", "id": res.id}
        if action == "state":
            res.state = body["state"]
        else:
            if "merge" in body:
                deep_merge(res.body, body["merge"])
            for path, v in (body.get("set") or {}).items():
                if path == "location":
                    res.location = v
                elif path.startswith("tags.") or path == "tags":
                    set_path(res.body, path, v)
                else:
                    set_path(res.body, path, v)
            for path in body.get("remove", []):
                parts = path.split(".")
                cur = res.body
                for p in parts[:-1]:
                    cur = cur.get(p, {}) if isinstance(cur, dict) else {}
                if isinstance(cur, dict):
                    cur.pop(parts[-1], None)
        res.new_etag(res.etag.startswith("W/"))
        return {"status": "modified", "resource": self.app.arm.render(res)}

    # -- operations ---------------------------------------------------------------------------------------------------
    def list_operations(self, req, body):
        self.app.ops.tick()
        return {"value": [op.status_body() | {"resource_id": op.resource_id, "kind": op.kind}
                          for op in self.app.ops.ops.values()]}

    def complete_operations(self, req, body):
        n = 0
        for op in list(self.app.ops.pending()):
            self.app.ops.finish(op)
            n += 1
        return {"completed": n}

    # -- identities ------------------------------------------------------------------------------------------------------
    def add_subscription(self, req, body):
        """Add a subscription, or change one (its tenant, name, who has access; its resources stay)."""
        sid = body["subscription_id"]
        old = self.app.store.subscriptions.get(sid.lower())
        s = Subscription(old.subscription_id if old else sid,
                         body.get("tenant_id") or (old.tenant_id if old else self.app.config.tenant_id),
                         body.get("display_name") or (old.display_name if old else f"subscription {sid}"))
        if old:
            s.registered, s.principals = old.registered, old.principals
        if "principals" in body:
            p = body["principals"]
            s.principals = None if p is None else {str(x).lower() for x in p}
        self.app.store.subscriptions[sid.lower()] = s
        self.app.auth.tenants.add(s.tenant_id.lower())
        return s.render()

    def list_clients(self, req, body):
        return {"value": [c.as_dict() for c in self.app.auth.clients.values()]}

    def add_client(self, req, body):
        return self.app.auth.register_client(body).as_dict()

    def list_issuers(self, req, body):
        return {"value": [self.app.auth.issuer_info(i, req.base_url) for i in self.app.auth.issuers.values()]}

    def add_issuer(self, req, body):
        iss = self.app.auth.add_issuer(body)
        return self.app.auth.issuer_info(iss, req.base_url)

    def mint_oidc(self, req, body, name):
        if name not in self.app.auth.issuers:
            return json_response(404, {"error": {"code": "NotFound", "message": f"no issuer {name}"}})
        tok = self.app.auth.mint_oidc(name, sub=body.get("sub"), aud=body.get("aud", "api://AzureADTokenExchange"),
                                      lifetime=int(body.get("lifetime", 300)), claims=body.get("claims"))
        return {"token": tok}

    def mint_token(self, req, body):
        from .config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_OBJECT_ID
        tok, exp = self.app.auth.mint_access_token(
            tenant=body.get("tenant_id") or self.app.config.tenant_id,
            oid=body.get("object_id") or DEFAULT_CLIENT_OBJECT_ID,
            appid=body.get("client_id") or DEFAULT_CLIENT_ID,
            aud=body.get("audience") or "https://management.azure.com/",
            lifetime=body.get("lifetime"))
        return {"access_token": tok, "expires_on": exp, "token_type": "Bearer"}

    def get_imds(self, req, body):
        return {"system_assigned": self.app.auth.imds["system_assigned"],
                "user_assigned": self.app.auth.imds["user_assigned"],
                "host_principal": self.app.auth.host_principal,
                "identity_header": self.app.auth.identity_header}

    def set_imds(self, req, body):
        if "system_assigned" in body:
            self.app.auth.imds["system_assigned"] = bool(body["system_assigned"])
        if "user_assigned" in body:
            self.app.auth.imds["user_assigned"] = body["user_assigned"]
        return self.get_imds(req, body)
