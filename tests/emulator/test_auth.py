"""Entra token endpoint (secret, certificate, federated), IMDS, App Service, OIDC issuer, ARM token checks."""
from __future__ import annotations

import time
import uuid

import jwt
import pytest
import requests

from . import certs

SCOPE = "https://management.azure.com/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_url(emu, tenant=None):
    return f"{emu.url}/{tenant or emu.tenant}/oauth2/v2.0/token"


def post_token(emu, **form):
    form.setdefault("grant_type", "client_credentials")
    form.setdefault("scope", SCOPE)
    return emu.s.post(token_url(emu), data=form)


def arm_get(emu, token):
    return emu.get(f"/subscriptions/{emu.subscription}/resourcegroups", token=token)


def test_client_secret(emu):
    r = post_token(emu, client_id=emu.client_id, client_secret=emu.client_secret)
    assert r.status_code == 200
    b = r.json()
    assert b["token_type"] == "Bearer" and isinstance(b["expires_in"], int) and b["ext_expires_in"]
    claims = jwt.decode(b["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://management.azure.com/" and claims["tid"] == emu.tenant
    assert arm_get(emu, b["access_token"]).status_code == 200
    bad = post_token(emu, client_id=emu.client_id, client_secret="wrong")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert bad.json()["error_description"].startswith("AADSTS7000215")
    assert bad.json()["error_codes"] == [7000215]


def test_token_endpoint_errors(emu):
    r = emu.s.post(token_url(emu, "99999999-0000-0000-0000-000000000000"),
                   data={"grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": "x",
                         "scope": SCOPE})
    assert r.status_code == 400 and r.json()["error_codes"] == [90002]
    r = post_token(emu, client_id=str(uuid.uuid4()), client_secret="x")
    assert r.json()["error"] == "unauthorized_client" and r.json()["error_codes"] == [700016]
    r = post_token(emu, client_id=emu.client_id, client_secret=emu.client_secret, scope="https://management.azure.com/")
    assert r.json()["error"] == "invalid_scope"
    r = post_token(emu, client_id=emu.client_id)
    assert r.json()["error_codes"] == [7000218]
    r = post_token(emu, client_id=emu.client_id, client_secret="x", grant_type="password")
    assert r.json()["error"] == "unsupported_grant_type"


def _assertion(emu, key, cert, client_id, alg="RS256", header="x5t", **over):
    now = int(time.time())
    claims = {"aud": token_url(emu), "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()),
              "nbf": now, "exp": now + 600, "iat": now}
    claims.update(over)
    tp = certs.thumbprints(cert)
    return jwt.encode(claims, key, algorithm=alg, headers={header: tp[header]})


@pytest.fixture(scope="module")
def client_cert():
    return certs.make_client_certificate()


def test_client_certificate_assertion(emu, client_cert):
    key, cert = client_cert
    cid = str(uuid.uuid4())
    emu.control("POST", "clients", {"client_id": cid, "certificate": certs.cert_pem(cert)}).raise_for_status()
    for alg, hdr in (("RS256", "x5t"), ("PS256", "x5t#S256")):
        a = _assertion(emu, key, cert, cid, alg=alg, header=hdr)
        r = post_token(emu, client_id=cid, client_assertion_type=ASSERTION_TYPE, client_assertion=a)
        assert r.status_code == 200, r.text
        assert arm_get(emu, r.json()["access_token"]).status_code == 200
    # replayed jti
    r = post_token(emu, client_id=cid, client_assertion_type=ASSERTION_TYPE, client_assertion=a)
    assert r.status_code == 400 and "jti" in r.json()["error_description"]
    # expired, wrong audience, wrong subject, unknown key, bad signature
    cases = [
        (dict(exp=int(time.time()) - 3600, nbf=int(time.time()) - 7200), 700024),
        (dict(aud="https://example.com/token"), 700023),
        (dict(sub="someone-else"), 700021),
    ]
    for over, code in cases:
        a = _assertion(emu, key, cert, cid, **over)
        r = post_token(emu, client_id=cid, client_assertion_type=ASSERTION_TYPE, client_assertion=a)
        assert r.json()["error_codes"] == [code], (over, r.text)
    other_key, other_cert = certs.make_client_certificate("other")
    a = _assertion(emu, other_key, other_cert, cid)
    r = post_token(emu, client_id=cid, client_assertion_type=ASSERTION_TYPE, client_assertion=a)
    assert r.status_code == 401 and r.json()["error_codes"] == [700027]
    forged = _assertion(emu, other_key, cert, cid)       # registered thumbprint, wrong private key
    r = post_token(emu, client_id=cid, client_assertion_type=ASSERTION_TYPE, client_assertion=forged)
    assert r.status_code == 401 and r.json()["error_codes"] == [700027]


def _github_token(emu, audience="api://AzureADTokenExchange"):
    info = emu.control("GET", "info").json()["github_oidc"]
    r = emu.s.get(info["request_url"] + f"&audience={audience}",
                  headers={"Authorization": f"Bearer {info['request_token']}"})
    assert r.status_code == 200, r.text
    return r.json()["value"]


def test_github_oidc_issuer(emu):
    info = emu.control("GET", "info").json()["github_oidc"]
    r = emu.s.get(info["request_url"] + "&audience=x", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    tok = _github_token(emu)
    disc = emu.s.get(f"{emu.url}/oidc/github/.well-known/openid-configuration").json()
    assert disc["issuer"] == "https://token.actions.githubusercontent.com"
    jwks = emu.s.get(disc["jwks_uri"]).json()
    key = jwt.algorithms.RSAAlgorithm.from_jwk(jwks["keys"][0])
    claims = jwt.decode(tok, key, algorithms=["RS256"], audience="api://AzureADTokenExchange")
    assert claims["iss"] == disc["issuer"] and claims["sub"].startswith("repo:")


def test_federated_credential_on_app_registration(emu):
    cid = str(uuid.uuid4())
    emu.control("POST", "clients", {"client_id": cid, "federated": [{
        "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:contoso/platform:ref:refs/heads/main"}]}).raise_for_status()
    r = post_token(emu, client_id=cid, client_assertion_type=ASSERTION_TYPE, client_assertion=_github_token(emu))
    assert r.status_code == 200, r.text
    # subject, audience, issuer mismatches
    mint = lambda **b: emu.control("POST", "issuers/github/mint", b).json()["token"]  # noqa: E731
    cases = [(mint(sub="repo:contoso/platform:pull_request"), 700213),
             (mint(aud="api://Other"), 700212),
             (mint(lifetime=-600), 700024)]
    emu.control("POST", "issuers", {"name": "aks"})
    cases.append((emu.control("POST", "issuers/aks/mint", {"sub": "system:serviceaccount:ns:sa"}).json()["token"],
                  700211))
    for tok, code in cases:
        r = post_token(emu, client_id=cid, client_assertion_type=ASSERTION_TYPE, client_assertion=tok)
        assert r.json()["error_codes"] == [code], r.text


def test_federated_credential_on_user_assigned_identity(emu, rg):
    uami = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-ci",
                   {"location": "westeurope"}).json()
    cid = uami["properties"]["clientId"]
    r = post_token(emu, client_id=cid, client_assertion_type=ASSERTION_TYPE, client_assertion=_github_token(emu))
    assert r.status_code == 400 and r.json()["error_codes"] == [700211]
    emu.put(uami["id"] + "/federatedIdentityCredentials/github", {"properties": {
        "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:contoso/platform:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]}})
    r = post_token(emu, client_id=cid, client_assertion_type=ASSERTION_TYPE, client_assertion=_github_token(emu))
    assert r.status_code == 200, r.text
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["oid"] == uami["properties"]["principalId"] and claims["xms_mirid"] == uami["id"]


def test_imds(emu, rg, server):
    base = server.info["imds_endpoint"]
    url = f"{base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"
    s = requests.Session()
    s.trust_env = False
    r = s.get(url)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = s.get(url, headers={"Metadata": "true"})
    assert r.status_code == 200
    b = r.json()
    assert b["token_type"] == "Bearer" and b["resource"] == "https://management.azure.com/"
    assert isinstance(b["expires_on"], str) and b["refresh_token"] == ""
    assert arm_get(emu, b["access_token"]).status_code == 200
    uami = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-vm",
                   {"location": "westeurope"}).json()
    for sel in (f"client_id={uami['properties']['clientId']}", f"object_id={uami['properties']['principalId']}",
                f"msi_res_id={uami['id']}"):
        r = s.get(url + "&" + sel, headers={"Metadata": "true"})
        assert r.status_code == 200 and r.json()["client_id"] == uami["properties"]["clientId"], sel
    r = s.get(url + f"&client_id={uuid.uuid4()}", headers={"Metadata": "true"})
    assert r.status_code == 400 and r.json()["error_description"] == "Identity not found"
    # a token for another resource is refused by ARM
    r = s.get(url.replace("https://management.azure.com/", "https://vault.azure.net"), headers={"Metadata": "true"})
    bad = arm_get(emu, r.json()["access_token"])
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
    # the plain listener serves only identity endpoints
    assert s.get(f"{base}/subscriptions?api-version=2022-12-01").status_code == 404


def test_app_service_identity_endpoint(emu, server):
    ep = server.info["identity_endpoint"]
    s = requests.Session()
    s.trust_env = False
    url = f"{ep}?api-version=2019-08-01&resource=https://management.azure.com/"
    assert s.get(url).status_code == 400
    r = s.get(url, headers={"X-IDENTITY-HEADER": server.info["identity_header"]})
    assert r.status_code == 200 and set(r.json()) >= {"access_token", "expires_on", "resource", "token_type",
                                                      "client_id"}


def test_arm_token_expiry_tenant_and_audience(emu, rg):
    tok = emu.control("POST", "tokens", {"lifetime": -10}).json()["access_token"]
    r = emu.get(rg, token=tok)
    assert r.status_code == 401 and r.json()["error"]["code"] == "ExpiredAuthenticationToken"
    tok = emu.control("POST", "tokens", {"lifetime": 1}).json()["access_token"]
    assert emu.get(rg, token=tok).status_code == 200
    time.sleep(1.1)
    assert emu.get(rg, token=tok).json()["error"]["code"] == "ExpiredAuthenticationToken"
    tok = emu.control("POST", "tokens", {"tenant_id": str(uuid.uuid4())}).json()["access_token"]
    assert emu.get(rg, token=tok).json()["error"]["code"] == "InvalidAuthenticationTokenTenant"
    tok = emu.control("POST", "tokens", {"audience": "https://graph.microsoft.com"}).json()["access_token"]
    assert emu.get(rg, token=tok).json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
    # a token signed by someone else
    from cryptography.hazmat.primitives.asymmetric import rsa
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"aud": "https://management.azure.com/", "tid": emu.tenant, "exp": int(time.time()) + 60}, k,
                        algorithm="RS256")
    assert emu.get(rg, token=forged).json()["error"]["code"] == "InvalidAuthenticationToken"


def test_cloud_metadata(emu):
    r = emu.s.get(f"{emu.url}/metadata/endpoints?api-version=2022-09-01")
    assert r.status_code == 200 and r.json()[0]["resourceManager"] == emu.url + "/"
