"""The emulator core: one object holding the state and dispatching every request.

Transport-neutral (server.py feeds it Request objects), so it can be driven in-process too.
"""
from __future__ import annotations

import re
import sys
import threading
import time
import traceback

from . import arm_ids
from .arm import ArmService
from .auth import Auth
from .config import Config, now
from .control import Control
from .faults import Faults, lose_answer, transport_response
from .lro import OperationTable
from .protocol import ArmError, Request, Response, json_response, new_guid
from .recorder import Recorder
from .specs import SpecLibrary, default_library
from .store import Store, Subscription
from .throttle import Throttle

TOKEN_RE = re.compile(r"^/([^/]+)/oauth2/(v2\.0/)?token/?$", re.I)
DISCOVERY_RE = re.compile(r"^/([^/]+)/(v2\.0/\.well-known/openid-configuration|discovery/v2\.0/keys|discovery/keys)$",
                          re.I)
OIDC_RE = re.compile(r"^/oidc/([^/]+)/(.+)$")


class Emulator:
    def __init__(self, config: Config | None = None, lib: SpecLibrary | None = None, log_path=None):
        self.config = config or Config()
        self.lib = lib or default_library()
        self.store = Store()
        self.ops = OperationTable()
        self.faults = Faults()
        self.throttle = Throttle(self.config)
        self.recorder = Recorder(log_path)
        self.auth = Auth(self.config, self.store)
        self.arm = ArmService(self)
        self.control = Control(self)
        self.shutdown_event = threading.Event()
        self.started_wall = time.time()
        self._local = threading.local()
        self.default_base_url = "https://127.0.0.1"
        self.state: dict = {}
        # Bumped by every /reset: a request that arrived before it belongs to the test that sent
        # it (a cancelled PUT still held by a latency fault) and must not write into the next
        # test's store, nor be in its request log.
        self.generation = 0
        self._seed()

    # -- state ---------------------------------------------------------------------------------------------
    def _seed(self):
        sub = Subscription(self.config.subscription_id, self.config.tenant_id, "emulator subscription")
        self.store.subscriptions[sub.subscription_id.lower()] = sub

    def reset(self):
        with self.store.lock:
            self.generation += 1
            self.store.clear()
            self.ops.clear()
            self.faults.clear()
            self.throttle.reset()
            self.recorder.clear()
            self.auth.reset()
            self._seed()

    @property
    def base_url(self) -> str:
        return getattr(self._local, "base_url", None) or self.default_base_url

    # -- dispatch --------------------------------------------------------------------------------------------
    def classify(self, path: str) -> str:
        p = path.lower()
        if p.startswith("/__emulator"):
            return "control"
        if p.startswith("/metadata/identity/oauth2/token") or p.rstrip("/") == "/msi/token":
            return "identity"
        if p.startswith("/metadata/endpoints"):
            return "metadata"
        if p.startswith("/oidc/"):
            return "oidc"
        if p.startswith("/subscriptions") or p.startswith("/providers"):
            return "arm"
        if TOKEN_RE.match(path) or DISCOVERY_RE.match(path):
            return "auth"
        return "other"

    def stale(self, req: Request) -> bool:
        """The request arrived before the last reset (read with the store lock held, it stays so
        until the lock is released)."""
        return req.generation is not None and req.generation != self.generation

    def drop_stale(self, req: Request) -> Response:
        """A request of an earlier generation: no answer (the connection is closed), nothing
        written, not recorded."""
        print(f"emulator: {req.method} {req.path} arrived before the last reset: dropped", file=sys.stderr,
              flush=True)
        return Response(action="reset", error_code="emulator:stale")

    def handle(self, req: Request, plain_listener: bool = False) -> Response:
        req.started = req.started or now()
        if req.generation is None:
            req.generation = self.generation
        self._local.base_url = req.base_url or self.default_base_url
        kind = self.classify(req.path)
        rtype = None
        lost = False
        try:
            if plain_listener and kind not in ("identity",):
                resp = json_response(404, {"error": "not_found",
                                           "error_description": "The plain HTTP listener serves only the managed "
                                                                "identity endpoints."})
            elif kind == "control":
                resp = self.control.handle(req)
            else:
                rule = self.faults.transport(req)
                resp = None
                if rule is not None:
                    if rule.kind == "latency":
                        self.shutdown_event.wait(float(rule.params.get("seconds", 1)))
                    else:
                        resp = transport_response(rule)
                if self.stale(req):
                    return self.drop_stale(req)
                lost = rule is not None and rule.kind == "lost_answer"
                if resp is None:
                    resp, rtype = self._dispatch(req, kind)
        except ArmError as e:
            resp = e.response()
        except Exception as e:  # a bug in the emulator: say so loudly, answer like ARM would
            traceback.print_exc(file=sys.stderr)
            resp = ArmError(500, "InternalServerError", f"Emulator error: {type(e).__name__}: {e}").response()
        if resp.error_code == "emulator:stale":
            return resp
        if lost:  # handled, whatever the outcome; the client never hears of it
            resp = lose_answer(resp)
        if not resp.raw:
            self._common_headers(req, resp, kind)
        if kind != "control" or req.method != "GET":
            self.recorder.record(req, resp, kind, resource_type=rtype, validation=getattr(req, "validation", None))
        return resp

    def _dispatch(self, req: Request, kind: str):
        if kind == "auth":
            m = TOKEN_RE.match(req.path)
            if m:
                return self.auth.token_endpoint(req, m.group(1), "v2" if m.group(2) else "v1"), None
            m = DISCOVERY_RE.match(req.path)
            tenant = m.group(1)
            if "openid-configuration" in m.group(2):
                b = req.base_url
                return json_response(200, {
                    "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
                    "token_endpoint": f"{b}/{tenant}/oauth2/v2.0/token",
                    "jwks_uri": f"{b}/{tenant}/discovery/v2.0/keys",
                    "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                    "id_token_signing_alg_values_supported": ["RS256"]}), None
            return json_response(200, self.auth.jwks()), None
        if kind == "identity":
            if req.path.lower().startswith("/metadata/"):
                return self.auth.imds_token(req), None
            return self.auth.appservice_token(req), None
        if kind == "oidc":
            m = OIDC_RE.match(req.path)
            if not m:
                return json_response(404, {"message": "not found"}), None
            return self.auth.oidc(req, m.group(1), m.group(2)), None
        if kind == "metadata":
            return json_response(200, self.cloud_metadata(req.base_url)), None
        if kind == "arm":
            return self._arm(req)
        raise ArmError(404, "NotFound", f"No route for '{req.path}'.")

    def _arm(self, req: Request):
        try:
            ap = arm_ids.parse(req.path)
        except arm_ids.PathError as e:
            raise ArmError(400, "InvalidRequestUri", f"The request URI '{req.path}' is not valid: {e}.")
        rtype = None
        if ap.chain:
            kt = self.lib.lookup(ap.full_type)
            rtype = kt.type_name if kt else ap.full_type
        elif ap.special in ("resourceGroup",):
            rtype = "Microsoft.Resources/resourceGroups"
        with self.store.lock:
            self.ops.tick()
            sub = self.store.subscriptions.get((ap.subscription or "").lower())
            claims = self.auth.verify_arm_token(req, sub.tenant_id if sub else None)
        if sub is not None and not sub.allows(claims.get("oid")):
            return self._no_role(req, ap, claims), rtype
        ok, th = self.throttle.check(ap.subscription or "", claims.get("oid", ""), req.method)
        if not ok:
            cls = th and next(k for k in th if k.startswith("x-ms-ratelimit-remaining-subscription-")).rsplit("-", 1)[1]
            e = ArmError(429, "TooManyRequests",
                         f"Number of '{cls[:-1]}' requests for subscription '{ap.subscription}' actor "
                         f"'{claims.get('oid')}' exceeded. Please try again after '{th['Retry-After']}' seconds after "
                         f"additional tokens are available. Refer to https://aka.ms/arm-throttling for additional "
                         f"information.", headers=th)
            return e.response(), rtype
        req.delay_after = 0.0
        try:
            with self.store.lock:
                if self.stale(req):
                    return self.drop_stale(req), rtype
                self.ops.tick()
                resp = self.arm.handle(req, ap, claims)
        except ArmError as e:
            resp = e.response()
        if req.delay_after:
            self.shutdown_event.wait(req.delay_after)
        for k, v in th.items():
            resp.headers[k] = v
        return resp, rtype

    def _no_role(self, req: Request, ap, claims: dict) -> Response:
        """ARM's answer to a principal with no role assignment in the subscription: 403 AuthorizationFailed
        naming the action and the scope (the request's resource, collection or subscription)."""
        verb = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}.get(
            req.method, "action")
        if ap.chain:
            action = f"{ap.full_type}/{verb}"
        elif ap.special in ("resourceGroup", "resourceGroups", "rgResources"):
            action = f"Microsoft.Resources/subscriptions/resourceGroups/{verb}"
        elif ap.special in ("providers", "provider", "providerRegister"):
            action = f"Microsoft.Resources/subscriptions/providers/{verb}"
        else:
            action = f"Microsoft.Resources/subscriptions/{verb}"
        scope = req.path.split("?", 1)[0].rstrip("/")
        return ArmError(403, "AuthorizationFailed",
                        f"The client '{claims.get('appid')}' with object id '{claims.get('oid')}' does not have "
                        f"authorization to perform action '{action}' over scope '{scope}' or the scope is "
                        f"invalid. If access was recently granted, please refresh your credentials.").response()

    def _common_headers(self, req: Request, resp: Response, kind: str):
        h = resp.headers
        rid = new_guid()
        h["x-ms-request-id"] = rid
        h["x-ms-correlation-request-id"] = req.headers.get("x-ms-correlation-request-id") or rid
        if req.headers.get("x-ms-client-request-id"):
            h["x-ms-client-request-id"] = req.headers.get("x-ms-client-request-id")
        h["x-ms-routing-request-id"] = f"{self.config.default_region.upper()}:" \
                                       f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}:{rid}"
        h["Cache-Control"] = "no-cache"
        h["Pragma"] = "no-cache"
        h["Expires"] = "-1"
        if resp.body is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/json; charset=utf-8"

    def cloud_metadata(self, base: str) -> list:
        return [{"name": "AzureEmulator", "portal": base, "resourceManager": base + "/",
                 "authentication": {"loginEndpoint": base + "/", "audiences": list(
                     ("https://management.core.windows.net/", "https://management.azure.com/")),
                                    "tenant": "common", "identityProvider": "AAD"},
                 "media": base, "graphAudience": "https://graph.windows.net/", "graph": "https://graph.windows.net/",
                 "microsoftGraphResourceId": "https://graph.microsoft.com/",
                 "suffixes": {"acrLoginServer": "azurecr.io", "keyVaultDns": "vault.azure.net",
                              "storage": "core.windows.net", "sqlServerHostname": "database.windows.net"},
                 "batch": "https://batch.core.windows.net/", "sqlManagement": "https://management.core.windows.net:8443/",
                 "vmImageAliasDoc": ""}]
