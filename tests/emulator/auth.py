"""Entra ID, managed identity endpoints and OIDC issuers.

* Token endpoint  POST /{tenant}/oauth2/v2.0/token  (client_credentials: client_secret,
  client_assertion signed by a registered certificate, or a federated assertion
  from a registered OIDC issuer matched against the client's federated credentials,
  including the federatedIdentityCredentials of user-assigned identities in the store).
* IMDS            GET /metadata/identity/oauth2/token  (header Metadata: true)
* App Service     GET /MSI/token  (header X-IDENTITY-HEADER)
* OIDC issuers    /oidc/{name}/.well-known/openid-configuration, /oidc/{name}/.well-known/jwks,
                  /oidc/{name}/token (GitHub-Actions-style request endpoint)
* ARM token check for every ARM request (signature, exp/nbf, audience, tenant).

Errors use Entra's shape: {"error", "error_description" ("AADSTSnnnnnn: ..."), "error_codes",
"timestamp", "trace_id", "correlation_id"}.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from . import certs
from .config import Config
from .protocol import ArmError, Request, Response, json_response, new_guid

ARM_AUDIENCES = ("https://management.azure.com", "https://management.azure.com/",
                 "https://management.core.windows.net", "https://management.core.windows.net/")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FIC_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


class AadError(Exception):
    def __init__(self, status: int, error: str, code: int, description: str):
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description

    def response(self) -> Response:
        trace = new_guid()
        return json_response(self.status, {
            "error": self.error, "error_description": f"AADSTS{self.code}: {self.description} Trace ID: {trace} "
                                                      f"Correlation ID: {trace} Timestamp: {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}",
            "error_codes": [self.code], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": trace, "correlation_id": trace,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}"})


@dataclass
class Client:
    client_id: str
    object_id: str
    tenant_id: str
    display_name: str = ""
    secrets: set = field(default_factory=set)
    certs: dict = field(default_factory=dict)       # thumbprint (x5t / x5t#S256 b64url) -> certificate
    federated: list = field(default_factory=list)   # [{"issuer","subject","audiences":[...]}]

    def as_dict(self):
        return {"client_id": self.client_id, "object_id": self.object_id, "tenant_id": self.tenant_id,
                "display_name": self.display_name, "secrets": len(self.secrets),
                "certificates": sorted({certs.thumbprints(c)["sha1_hex"] for c in self.certs.values()}),
                "federated": self.federated}


@dataclass
class Issuer:
    name: str
    issuer: str
    key: object = None                  # RSA private key (emulator-minted tokens) or None
    kid: str = ""
    jwks: dict | None = None            # public keys of an external issuer
    request_token: str = ""             # ACTIONS_ID_TOKEN_REQUEST_TOKEN
    subject: str = "repo:contoso/platform:ref:refs/heads/main"
    claims: dict = field(default_factory=dict)
    _ready: threading.Event = field(default_factory=threading.Event)

    def public_jwks(self) -> dict:
        if self.jwks is not None:
            return self.jwks
        self._ready.wait(10)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def signing_key(self):
        self._ready.wait(10)
        return self.key


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Auth:
    def __init__(self, config: Config, store):
        self.config = config
        self.store = store
        self._lock = threading.Lock()
        self.key = _rsa()
        self.kid = certs.b64url(hashlib.sha256(str(id(self.key)).encode() + uuid.uuid4().bytes).digest()[:20])
        self.identity_header = uuid.uuid4().hex
        self.reset()

    def reset(self):
        with self._lock:
            self.clients: dict[str, Client] = {}
            self.used_jti: dict[str, float] = {}
            self.tenants: set = {self.config.tenant_id.lower()}
            self.imds = {"system_assigned": True, "user_assigned": None}   # None: every UAMI in the store
            self.host_principal = {"object_id": "55555555-5555-5555-5555-555555555555",
                                   "client_id": "66666666-6666-6666-6666-666666666666",
                                   "resource_id": f"/subscriptions/{self.config.subscription_id}/resourceGroups/"
                                                  f"emulator-host/providers/Microsoft.Compute/virtualMachines/host"}
            if not hasattr(self, "issuers"):
                self.issuers: dict[str, Issuer] = {}
            self.issuers = {k: v for k, v in self.issuers.items() if k == "github"}
        from .config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_OBJECT_ID, DEFAULT_CLIENT_SECRET
        self.register_client({"client_id": DEFAULT_CLIENT_ID, "object_id": DEFAULT_CLIENT_OBJECT_ID,
                              "secret": DEFAULT_CLIENT_SECRET, "display_name": "emulator default client"})
        from .config import AZURE_DATABRICKS_APP_ID, first_party_object_id
        from .store import Principal
        # Present since the tenant was created: no replication delay applies.
        self.store.add_principal(Principal(first_party_object_id(self.config.tenant_id, AZURE_DATABRICKS_APP_ID),
                                           AZURE_DATABRICKS_APP_ID, self.config.tenant_id, "ServicePrincipal",
                                           time.time() - 86400 * 365))
        if "github" not in self.issuers:
            self.add_issuer({"name": "github", "issuer": GITHUB_ISSUER, "request_token": uuid.uuid4().hex})

    # -- registration (control API) ----------------------------------------------------------------
    def register_client(self, spec: dict) -> Client:
        cid = spec.get("client_id") or new_guid()
        c = Client(client_id=cid, object_id=spec.get("object_id") or new_guid(),
                   tenant_id=spec.get("tenant_id") or self.config.tenant_id,
                   display_name=spec.get("display_name", ""))
        with self._lock:
            old = self.clients.get(cid.lower())
            if old:
                c = old
            if spec.get("secret"):
                c.secrets.add(spec["secret"])
            for s in spec.get("secrets", []):
                c.secrets.add(s)
            pems = list(spec.get("certificates", []))
            if spec.get("certificate"):
                pems.append(spec["certificate"])
            for pem in pems:
                cert = certs.load_cert(pem)
                tp = certs.thumbprints(cert)
                c.certs[tp["x5t"]] = cert
                c.certs[tp["x5t#S256"]] = cert
            for f in spec.get("federated", []):
                c.federated.append({"issuer": f["issuer"], "subject": f["subject"],
                                    "audiences": f.get("audiences") or ["api://AzureADTokenExchange"]})
            self.clients[cid.lower()] = c
            self.tenants.add(c.tenant_id.lower())
        from .store import Principal
        self.store.add_principal(Principal(c.object_id, c.client_id, c.tenant_id, "ServicePrincipal", time.time()))
        return c

    def add_issuer(self, spec: dict) -> Issuer:
        name = spec.get("name") or uuid.uuid4().hex[:8]
        iss = Issuer(name=name, issuer=spec.get("issuer") or f"{self.config_base()}/oidc/{name}",
                     request_token=spec.get("request_token") or uuid.uuid4().hex,
                     subject=spec.get("subject") or "repo:contoso/platform:ref:refs/heads/main",
                     claims=spec.get("claims") or {}, jwks=spec.get("jwks"))
        if iss.jwks is None:
            iss.kid = uuid.uuid4().hex[:16]

            def gen():
                iss.key = _rsa()
                iss._ready.set()
            threading.Thread(target=gen, daemon=True).start()
        else:
            iss._ready.set()
        with self._lock:
            self.issuers[name] = iss
        return iss

    def issuer_info(self, iss: Issuer, base: str) -> dict:
        return {"name": iss.name, "issuer": iss.issuer,
                "discovery_url": f"{base}/oidc/{iss.name}/.well-known/openid-configuration",
                "jwks_uri": f"{base}/oidc/{iss.name}/.well-known/jwks",
                "request_url": f"{base}/oidc/{iss.name}/token?api-version=2.0",
                "request_token": iss.request_token, "subject": iss.subject, "external": iss.jwks is not None}

    def config_base(self):
        return getattr(self, "base_url", "https://127.0.0.1")

    # -- tokens -------------------------------------------------------------------------------------
    def mint_access_token(self, *, tenant: str, oid: str, appid: str, aud: str, lifetime: int | None = None,
                          idtyp: str = "app", extra: dict | None = None) -> tuple[str, int]:
        now = int(time.time())
        lifetime = self.config.token_lifetime if lifetime is None else int(lifetime)
        claims = {"aud": aud, "iss": f"https://sts.windows.net/{tenant}/", "iat": now, "nbf": now - 5,
                  "exp": now + lifetime, "aio": "emulator", "appid": appid, "appidacr": "2", "idp":
                  f"https://sts.windows.net/{tenant}/", "idtyp": idtyp, "oid": oid, "rh": "emulator", "sub": oid,
                  "tid": tenant, "uti": uuid.uuid4().hex[:22], "ver": "1.0"}
        claims.update(extra or {})
        tok = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid})
        return tok, claims["exp"]

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "x5t": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def verify_arm_token(self, req: Request, subscription_tenant: str | None) -> dict:
        base = req.base_url
        www = f'Bearer authorization_uri="{base}/{subscription_tenant or "common"}", error="invalid_token"'
        h = req.headers.get("Authorization")
        if not h:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                           headers={"WWW-Authenticate": www + ', error_description="The authentication failed because '
                                                              'of missing \'Authorization\' header."'})
        parts = h.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise ArmError(401, "AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                           headers={"WWW-Authenticate": www})
        token = parts[1].strip()
        try:
            claims = jwt.decode(token, self.key.public_key(), algorithms=["RS256"],
                                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                                         "require": ["exp", "aud", "tid"]})
        except jwt.PyJWTError:
            raise ArmError(401, "InvalidAuthenticationToken",
                           "The access token is invalid.", headers={"WWW-Authenticate": www + ', error_description='
                                                                                           '"The access token is invalid."'})
        now = time.time()
        if claims["exp"] <= now:
            exp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(claims["exp"]))
            cur = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(now))
            raise ArmError(401, "ExpiredAuthenticationToken",
                           f"The access token expiry UTC time '{exp}' is earlier than current UTC time '{cur}'.",
                           headers={"WWW-Authenticate": www + ', error_description="The access token has expired."'})
        if claims.get("nbf", 0) > now + 300:
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is not yet valid.",
                           headers={"WWW-Authenticate": www})
        if claims["aud"] not in ARM_AUDIENCES:
            raise ArmError(401, "InvalidAuthenticationTokenAudience",
                           f"The access token has been obtained for wrong audience or resource '{claims['aud']}'. It "
                           f"should exactly match with one of the allowed audiences "
                           f"'{','.join(ARM_AUDIENCES)}'.", headers={"WWW-Authenticate": www})
        if subscription_tenant and claims["tid"].lower() != subscription_tenant.lower():
            raise ArmError(401, "InvalidAuthenticationTokenTenant",
                           f"The access token is from the wrong issuer '{claims.get('iss')}'. It must match the tenant "
                           f"'https://sts.windows.net/{subscription_tenant}/' associated with this subscription. "
                           f"Please use the authority (URL) '{base}/{subscription_tenant}' to get the token. Note, if "
                           f"the subscription is transferred to another tenant there is no impact to the services, but "
                           f"information about new tenant could take time to propagate (up to an hour). If you just "
                           f"transferred your subscription and see this error message, please try back later.",
                           headers={"WWW-Authenticate": www})
        return claims

    # -- token endpoint -----------------------------------------------------------------------------------
    def token_endpoint(self, req: Request, tenant: str, version: str) -> Response:
        try:
            return self._token(req, tenant, version)
        except AadError as e:
            return e.response()

    def _token(self, req: Request, tenant: str, version: str) -> Response:
        if req.method != "POST":
            raise AadError(405, "invalid_request", 900561,
                           "The endpoint only accepts POST requests. Received a GET request.")
        form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
        if tenant.lower() not in self.tenants:
            raise AadError(400, "invalid_request", 90002,
                           f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                           f"signing into the correct cloud. Check with your subscription administrator, this may happen "
                           f"if there are no active subscriptions for the tenant.")
        gt = form.get("grant_type")
        if not gt:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'grant_type'.")
        if gt != "client_credentials":
            raise AadError(400, "unsupported_grant_type", 70003,
                           f"The app requested an unsupported grant type '{gt}'.")
        cid = form.get("client_id")
        if not cid:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'client_id'.")
        if version == "v2":
            scope = form.get("scope")
            if not scope:
                raise AadError(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: 'scope'.")
            scopes = scope.split()
            if len(scopes) != 1 or not scopes[0].endswith("/.default"):
                raise AadError(400, "invalid_scope", 1002012,
                               f"The provided value for scope {scope} is not valid. Client credential flows must have "
                               f"a scope value with /.default suffixed to the resource identifier (application ID URI).")
            resource = scopes[0][: -len(".default")]
            if resource.endswith("//"):
                resource = resource[:-1]
        else:
            resource = form.get("resource")
            if not resource:
                raise AadError(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: 'resource'.")
        secret = form.get("client_secret")
        assertion = form.get("client_assertion")
        if secret is None and assertion is None:
            raise AadError(401, "invalid_client", 7000218,
                           "The request body must contain the following parameter: 'client_assertion' or "
                           "'client_secret'.")
        if assertion is not None and form.get("client_assertion_type") != ASSERTION_TYPE:
            raise AadError(400, "invalid_request", 900144,
                           f"The request body must contain the following parameter: 'client_assertion_type' with "
                           f"value '{ASSERTION_TYPE}'.")
        client = self.clients.get(cid.lower())
        principal = None
        if client is None:
            principal = self.store.principal_by_client(cid)
            if principal is None or principal.kind != "ManagedIdentity":
                raise AadError(400, "unauthorized_client", 700016,
                               f"Application with identifier '{cid}' was not found in the directory '{tenant}'. This "
                               f"can happen if the application has not been installed by the administrator of the "
                               f"tenant or consented to by any user in the tenant. You may have sent your authentication "
                               f"request to the wrong tenant.")
        tenant_of = client.tenant_id if client else principal.tenant_id
        if tenant_of.lower() != tenant.lower():
            raise AadError(400, "unauthorized_client", 700016,
                           f"Application with identifier '{cid}' was not found in the directory '{tenant}'.")
        if secret is not None:
            if client is None or secret not in client.secrets:
                raise AadError(401, "invalid_client", 7000215,
                               f"Invalid client secret provided. Ensure the secret being sent in the request is the "
                               f"client secret value, not the client secret ID, for a secret added to app '{cid}'.")
            how = "secret"
        else:
            how = self._check_assertion(req, assertion, cid, tenant, client, principal)
        oid = client.object_id if client else principal.object_id
        extra = {}
        if principal is not None and principal.resource_id:
            extra["xms_mirid"] = principal.resource_id
        tok, exp = self.mint_access_token(tenant=tenant, oid=oid, appid=cid, aud=resource, extra=extra)
        lifetime = exp - int(time.time())
        body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": tok}
        if version == "v1":
            body = {"token_type": "Bearer", "expires_in": str(lifetime), "ext_expires_in": str(lifetime),
                    "expires_on": str(exp), "not_before": str(exp - lifetime), "resource": resource,
                    "access_token": tok}
        r = json_response(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache",
                                      "x-ms-emulator-auth-method": how})
        return r

    def _token_endpoints(self, req: Request, tenant: str) -> list:
        out = []
        for base in (req.base_url, "https://login.microsoftonline.com", self.config_base()):
            out += [f"{base}/{tenant}/oauth2/v2.0/token", f"{base}/{tenant}/oauth2/token"]
        return out

    def _check_assertion(self, req, assertion, cid, tenant, client: Client | None, principal) -> str:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise AadError(400, "invalid_request", 50027, f"JWT token is invalid or malformed. ({e})")
        iss = unverified.get("iss")
        if client is not None and iss == cid and (header.get("x5t") or header.get("x5t#S256")):
            return self._check_certificate_assertion(req, assertion, header, unverified, cid, tenant, client)
        return self._check_federated_assertion(assertion, header, unverified, cid, client, principal)

    def _check_certificate_assertion(self, req, assertion, header, unverified, cid, tenant, client: Client) -> str:
        alg = header.get("alg")
        if alg not in ("RS256", "PS256"):
            raise AadError(401, "invalid_client", 5002738,
                           f"Invalid JWT token. '{alg}' is not a supported signature algorithm. Supported signing "
                           f"algorithms are: 'RS256, PS256'.")
        tp = header.get("x5t#S256") or header.get("x5t")
        cert = client.certs.get(tp)
        if cert is None:
            raise AadError(401, "invalid_client", 700027,
                           f"The certificate with identifier used to sign the client assertion is not registered on "
                           f"application. [Reason - The key was not found., Thumbprint of key used by client: '{tp}', "
                           f"Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured "
                           f"keys for app Id '{cid}'.]")
        try:
            claims = jwt.decode(assertion, cert.public_key(), algorithms=[alg], audience=self._token_endpoints(req, tenant),
                                leeway=300, options={"require": ["exp", "aud", "iss", "sub"]})
        except jwt.ExpiredSignatureError:
            raise AadError(400, "invalid_client", 700024, f"Client assertion is not within its valid time range. "
                                                          f"Current time: {time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}"
                                                          f"Z, expiry time of assertion "
                                                          f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(unverified.get('exp', 0)))}Z.")
        except jwt.ImmatureSignatureError:
            raise AadError(400, "invalid_client", 700024, "Client assertion is not within its valid time range "
                                                          "(nbf is in the future).")
        except jwt.InvalidAudienceError:
            raise AadError(400, "invalid_client", 700023,
                           f"Client assertion audience claim does not match Realm issuer. Review the documentation at "
                           f"https://learn.microsoft.com/entra/identity-platform/certificate-credentials . (aud "
                           f"'{unverified.get('aud')}', expected the token endpoint)")
        except jwt.InvalidSignatureError:
            raise AadError(401, "invalid_client", 700027,
                           "Client assertion failed signature validation. [Reason - The provided signature value did "
                           "not match the expected signature value.]")
        except jwt.PyJWTError as e:
            raise AadError(400, "invalid_client", 50027, f"JWT token is invalid or malformed. ({e})")
        if claims.get("sub") != cid or claims.get("iss") != cid:
            raise AadError(400, "invalid_client", 700021,
                           "Client assertion application identifier doesn't match 'client_id' parameter. Review the "
                           "documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")
        jti = claims.get("jti")
        if not jti:
            raise AadError(400, "invalid_client", 90023, "The client assertion is missing the 'jti' claim.")
        with self._lock:
            now = time.time()
            for k in [k for k, v in self.used_jti.items() if v < now]:
                del self.used_jti[k]
            if jti in self.used_jti:
                raise AadError(400, "invalid_client", 90023,
                               f"The client assertion jti '{jti}' has already been used (replay).")
            self.used_jti[jti] = claims["exp"] + 600
        return "certificate"

    def _federations_for(self, cid, client: Client | None, principal) -> list:
        if client is not None:
            return list(client.federated)
        uami = self.store.get(principal.resource_id) if principal and principal.resource_id else None
        if uami is None:
            return []
        return [f.body.get("properties", {}) for f in self.store.children(uami.id, FIC_TYPE)]

    def _check_federated_assertion(self, assertion, header, unverified, cid, client, principal) -> str:
        iss = unverified.get("iss")
        feds = self._federations_for(cid, client, principal)
        issuer = next((i for i in self.issuers.values() if i.issuer == iss), None)
        if not feds or not any(f.get("issuer") == iss for f in feds):
            raise AadError(400, "invalid_client", 700211,
                           f"No matching federated identity record found for presented assertion issuer '{iss}'. "
                           f"Please check your federated identity credential Subject, Audience and Issuer against "
                           f"the presented assertion. https://learn.microsoft.com/entra/workload-id/"
                           f"workload-identity-federation")
        if issuer is None:
            raise AadError(400, "invalid_client", 70021,
                           f"No matching federated identity record found for presented assertion. Assertion "
                           f"Issuer: '{iss}'. The issuer's signing keys could not be retrieved.")
        keys = issuer.public_jwks().get("keys", [])
        kid = header.get("kid")
        key = next((k for k in keys if k.get("kid") == kid), keys[0] if len(keys) == 1 else None)
        if key is None:
            raise AadError(400, "invalid_client", 50013,
                           f"Assertion failed signature validation. [Reason - The key was not found., Key ID: '{kid}'.]")
        pub = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key))
        try:
            claims = jwt.decode(assertion, pub, algorithms=["RS256", "PS256", "ES256"], leeway=60,
                                options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]})
        except jwt.ExpiredSignatureError:
            raise AadError(400, "invalid_client", 700024,
                           "Client assertion is not within its valid time range. Current time: "
                           f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}Z, expiry time of assertion "
                           f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(unverified.get('exp', 0)))}Z.")
        except jwt.PyJWTError as e:
            raise AadError(400, "invalid_client", 50013, f"Assertion failed signature validation. [Reason - {e}]")
        same_iss = [f for f in feds if f.get("issuer") == iss]
        subs = [f for f in same_iss if f.get("subject") == claims.get("sub")]
        if not subs:
            raise AadError(400, "invalid_client", 700213,
                           f"No matching federated identity record found for presented assertion subject "
                           f"'{claims.get('sub')}'. Please check your federated identity credential Subject, Audience "
                           f"and Issuer against the presented assertion.")
        auds = claims.get("aud")
        auds = [auds] if isinstance(auds, str) else list(auds or [])
        if not any(a in (f.get("audiences") or []) for f in subs for a in auds):
            raise AadError(400, "invalid_client", 700212,
                           f"No matching federated identity record found for presented assertion audience "
                           f"'{','.join(auds)}'. Please check your federated identity credential Subject, Audience and "
                           f"Issuer against the presented assertion.")
        return "federated"

    # -- managed identity endpoints ----------------------------------------------------------------------------
    def _pick_identity(self, client_id, object_id, res_id):
        given = [x for x in (client_id, object_id, res_id) if x]
        if len(given) > 1:
            return None, "Only one of client_id, object_id and msi_res_id may be given."
        uamis = [p for p in self.store.principals.values() if p.kind == "ManagedIdentity" and p.resource_id and
                 "/microsoft.managedidentity/userassignedidentities/" in p.resource_id.lower()]
        allowed = self.imds.get("user_assigned")
        if allowed is not None:
            al = {a.lower() for a in allowed}
            uamis = [p for p in uamis if p.resource_id.lower() in al]
        host = self.host_principal if self.imds.get("system_assigned") else None
        if not given:
            if host:
                return {"oid": host["object_id"], "client_id": host["client_id"], "mirid": host["resource_id"]}, None
            if len(uamis) == 1:
                p = uamis[0]
                return {"oid": p.object_id, "client_id": p.client_id, "mirid": p.resource_id}, None
            if not uamis:
                return None, "Identity not found"
            return None, ("Multiple user assigned identities exist, please specify the clientId / resourceId of the "
                          "identity in the token request")
        for p in uamis:
            if (client_id and p.client_id.lower() == client_id.lower()) or \
                    (object_id and p.object_id.lower() == object_id.lower()) or \
                    (res_id and p.resource_id.lower() == res_id.lower()):
                return {"oid": p.object_id, "client_id": p.client_id, "mirid": p.resource_id}, None
        if host and ((client_id and client_id.lower() == host["client_id"]) or
                     (object_id and object_id.lower() == host["object_id"])):
            return {"oid": host["object_id"], "client_id": host["client_id"], "mirid": host["resource_id"]}, None
        return None, "Identity not found"

    def imds_token(self, req: Request) -> Response:
        if req.method != "GET":
            return json_response(405, {"error": "invalid_request", "error_description": "Only GET is allowed."})
        if (req.headers.get("Metadata") or "").lower() != "true":
            return json_response(400, {"error": "invalid_request",
                                       "error_description": "Required metadata header not specified"})
        if req.headers.get("X-Forwarded-For"):
            return json_response(400, {"error": "invalid_request",
                                       "error_description": "Requests with X-Forwarded-For header are not allowed"})
        if not req.q("api-version"):
            return json_response(400, {"error": "invalid_request",
                                       "error_description": "Required query variable 'api-version' is missing"})
        resource = req.q("resource")
        if not resource:
            return json_response(400, {"error": "invalid_request",
                                       "error_description": "Required audience parameter not specified"})
        ident, err = self._pick_identity(req.q("client_id"), req.q("object_id") or req.q("principal_id"),
                                         req.q("msi_res_id") or req.q("mi_res_id"))
        if ident is None:
            return json_response(400, {"error": "invalid_request", "error_description": err})
        tok, exp = self.mint_access_token(tenant=self.config.tenant_id, oid=ident["oid"], appid=ident["client_id"],
                                          aud=resource, extra={"xms_mirid": ident["mirid"]})
        lifetime = exp - int(time.time())
        return json_response(200, {"access_token": tok, "refresh_token": "", "expires_in": str(lifetime),
                                   "expires_on": str(exp), "ext_expires_in": str(lifetime),
                                   "not_before": str(exp - lifetime), "resource": resource, "token_type": "Bearer",
                                   "client_id": ident["client_id"]})

    def appservice_token(self, req: Request) -> Response:
        if (req.headers.get("X-IDENTITY-HEADER") or "") != self.identity_header:
            return json_response(400, {"statusCode": 400, "message": "The X-IDENTITY-HEADER header is missing or "
                                                                     "does not match IDENTITY_HEADER.",
                                       "correlationId": new_guid()})
        if req.q("api-version") != "2019-08-01":
            return json_response(400, {"statusCode": 400, "message": "api-version 2019-08-01 is required.",
                                       "correlationId": new_guid()})
        resource = req.q("resource")
        if not resource:
            return json_response(400, {"statusCode": 400, "message": "The resource parameter is required.",
                                       "correlationId": new_guid()})
        ident, err = self._pick_identity(req.q("client_id"), req.q("principal_id") or req.q("object_id"),
                                         req.q("mi_res_id"))
        if ident is None:
            return json_response(400, {"statusCode": 400, "message": err, "correlationId": new_guid()})
        tok, exp = self.mint_access_token(tenant=self.config.tenant_id, oid=ident["oid"], appid=ident["client_id"],
                                          aud=resource, extra={"xms_mirid": ident["mirid"]})
        return json_response(200, {"access_token": tok, "expires_on": str(exp), "resource": resource,
                                   "token_type": "Bearer", "client_id": ident["client_id"]})

    # -- OIDC issuers -----------------------------------------------------------------------------------------------
    def mint_oidc(self, name: str, sub: str | None = None, aud: str = "api://AzureADTokenExchange",
                  lifetime: int = 300, claims: dict | None = None) -> str:
        iss = self.issuers.get(name)
        if iss is None or iss.jwks is not None:
            raise KeyError(name)
        now = int(time.time())
        c = {"iss": iss.issuer, "sub": sub or iss.subject, "aud": aud, "iat": now, "nbf": now - 5,
             "exp": now + int(lifetime), "jti": new_guid()}
        if iss.name == "github" or iss.issuer == GITHUB_ISSUER:
            repo = (sub or iss.subject).split(":")[1] if (sub or iss.subject).startswith("repo:") else "contoso/platform"
            c.update({"repository": repo, "repository_owner": repo.split("/")[0], "ref": "refs/heads/main",
                      "ref_type": "branch", "runner_environment": "github-hosted", "actor": "emulator",
                      "job_workflow_ref": f"{repo}/.github/workflows/ci.yml@refs/heads/main"})
        c.update(iss.claims)
        c.update(claims or {})
        return jwt.encode(c, iss.signing_key(), algorithm="RS256", headers={"kid": iss.kid})

    def oidc(self, req: Request, name: str, rest: str) -> Response:
        iss = self.issuers.get(name)
        if iss is None:
            return json_response(404, {"message": f"issuer '{name}' not found"})
        base = f"{req.base_url}/oidc/{name}"
        if rest in (".well-known/openid-configuration",):
            return json_response(200, {"issuer": iss.issuer, "jwks_uri": f"{base}/.well-known/jwks",
                                       "subject_types_supported": ["public", "pairwise"],
                                       "response_types_supported": ["id_token"],
                                       "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref",
                                                            "repository", "repository_owner", "environment"],
                                       "id_token_signing_alg_values_supported": ["RS256"],
                                       "scopes_supported": ["openid"]})
        if rest in (".well-known/jwks", "jwks", ".well-known/jwks.json", "openid/v1/jwks"):
            return json_response(200, iss.public_jwks())
        if rest == "token":
            h = req.headers.get("Authorization") or ""
            if not h.lower().startswith("bearer ") or h.split(None, 1)[1].strip() != iss.request_token:
                return json_response(401, {"message": "Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable"
                                           if not h else "Bad credentials"})
            owner = iss.subject.split(":")[1].split("/")[0] if iss.subject.startswith("repo:") else "contoso"
            aud = req.q("audience") or f"https://github.com/{owner}"
            tok = self.mint_oidc(name, aud=aud)
            return json_response(200, {"count": 1, "value": tok})
        return json_response(404, {"message": "not found"})
