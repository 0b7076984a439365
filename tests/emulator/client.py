"""A small Python client for the emulator (tests and scripts); the product's client is the C one.

    srv = EmulatorServer(...).start()            # or read STATE_DIR/emulator.json of a running one
    c = EmulatorClient.from_info(srv.info)
    c.put(f"{c.rg_id('rg1')}", {"location": "westeurope"})
    r = c.put(vnet_id, body); c.wait(r)          # follows Azure-AsyncOperation / Location
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from .specs import default_library

API_VERSIONS = None


def api_version_for(resource_id_or_type: str) -> str:
    """The manifest's api-version for the type of an ARM ID (or a type name)."""
    from .arm_ids import parse
    lib = default_library()
    t = resource_id_or_type
    if t.startswith("/"):
        ap = parse(t)
        if ap.special in ("resourceGroup", "resourceGroups", "rgResources"):
            return "2025-04-01"
        if ap.special in ("subscription", "subscriptions", "providers", "provider", "providerRegister"):
            return "2022-12-01"
        t = ap.full_type
    kt = lib.lookup(t)
    if kt is None:
        raise KeyError(t)
    manifest = [v for v, rv in kt.versions.items() if rv.in_manifest]
    return sorted(manifest or kt.versions)[-1]


class EmulatorClient:
    def __init__(self, url: str, ca: str, tenant: str, subscription: str, client_id: str, client_secret: str):
        self.url = url.rstrip("/")
        self.ca = ca
        self.tenant = tenant
        self.subscription = subscription
        self.client_id = client_id
        self.client_secret = client_secret
        self.s = requests.Session()
        self.s.verify = ca
        # REQUESTS_CA_BUNDLE / proxies from the environment would override the emulator's CA
        self.s.trust_env = False
        self._token = None

    @classmethod
    def from_info(cls, info: dict) -> "EmulatorClient":
        return cls(info["url"], info["ca_cert"], info["tenant_id"], info["subscription_id"], info["client_id"],
                   info["client_secret"])

    @classmethod
    def from_state_dir(cls, d) -> "EmulatorClient":
        return cls.from_info(json.loads((Path(d) / "emulator.json").read_text()))

    # -- auth ---------------------------------------------------------------------------------------
    def token(self, refresh=False) -> str:
        if self._token is None or refresh:
            r = self.s.post(f"{self.url}/{self.tenant}/oauth2/v2.0/token",
                            data={"grant_type": "client_credentials", "client_id": self.client_id,
                                  "client_secret": self.client_secret,
                                  "scope": "https://management.azure.com/.default"})
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return self._token

    # -- ARM ------------------------------------------------------------------------------------------
    def sub_id(self) -> str:
        return f"/subscriptions/{self.subscription}"

    def rg_id(self, rg: str) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{rg}"

    def request(self, method, path, body=None, api_version=None, headers=None, token=None, raw=False, **kw):
        if path.startswith("http"):
            url = path
        else:
            av = api_version if api_version is not None else api_version_for(path.split("?")[0])
            sep = "&" if "?" in path else "?"
            url = f"{self.url}{path}" + (f"{sep}api-version={av}" if av else "")
        h = {"Authorization": f"Bearer {token or self.token()}"}
        if token == "":
            h.pop("Authorization")
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        data = body if raw else (json.dumps(body) if body is not None else None)
        return self.s.request(method, url, data=data, headers=h, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def wait(self, resp, timeout=30.0, min_interval=0.005) -> requests.Response:
        """Poll an LRO to its end; returns the last status response (raises on a non-2xx/3xx status)."""
        url = resp.headers.get("Azure-AsyncOperation") or resp.headers.get("Location")
        if not url:
            return resp
        use_async = "Azure-AsyncOperation" in resp.headers
        deadline = time.monotonic() + timeout
        while True:
            r = self.get(url)
            if use_async:
                st = r.json().get("status")
                if st not in ("InProgress", "Accepted", "Running", "Creating", "Updating", "Deleting"):
                    return r
            elif r.status_code != 202:
                return r
            if time.monotonic() > deadline:
                raise TimeoutError(url)
            ms = r.headers.get("retry-after-ms")
            time.sleep(max(min_interval, int(ms) / 1000 if ms else 0.05))

    def put_and_wait(self, path, body, **kw):
        r = self.put(path, body, **kw)
        if r.status_code >= 400:
            raise AssertionError(f"PUT {path} -> {r.status_code} {r.text}")
        st = self.wait(r)
        if "Azure-AsyncOperation" in r.headers and st.json().get("status") != "Succeeded":
            raise AssertionError(f"PUT {path} LRO -> {st.text}")
        return self.get(path).json()

    def delete_and_wait(self, path, **kw):
        r = self.delete(path, **kw)
        if r.status_code >= 400:
            raise AssertionError(f"DELETE {path} -> {r.status_code} {r.text}")
        return self.wait(r)

    # -- control API ---------------------------------------------------------------------------------------
    def control(self, method, route, body=None) -> requests.Response:
        return self.s.request(method, f"{self.url}/__emulator/{route.lstrip('/')}",
                              data=json.dumps(body) if body is not None else None,
                              headers={"Content-Type": "application/json"})

    def fault(self, **spec) -> dict:
        r = self.control("POST", "faults", spec)
        r.raise_for_status()
        return r.json()
