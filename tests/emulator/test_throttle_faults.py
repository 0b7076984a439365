"""Throttling, fault injection and the rest of the control API."""
from __future__ import annotations

import base64
import threading
import time

import pytest
import requests

from .client import EmulatorClient
from .conftest import make_vnet, net


def test_ratelimit_headers_always_present(emu, rg):
    r = emu.get(rg)
    assert r.headers["x-ms-ratelimit-remaining-subscription-reads"] == "250"
    r = emu.put(rg, {"location": "westeurope"})
    assert "x-ms-ratelimit-remaining-subscription-writes" in r.headers
    r = emu.delete(f"{net(rg)}/virtualNetworks/none")
    assert "x-ms-ratelimit-remaining-subscription-deletes" in r.headers


def test_token_bucket_throttling(emu, rg):
    # one token a second: a loaded machine does not refill the bucket between the four reads
    emu.control("POST", "throttling", {"enabled": True, "reads": {"capacity": 3, "refill_per_second": 1}})
    remaining = [emu.get(rg).headers["x-ms-ratelimit-remaining-subscription-reads"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    r = emu.get(rg)
    assert r.status_code == 429 and r.json()["error"]["code"] == "TooManyRequests"
    assert int(r.headers["Retry-After"]) >= 1 and int(r.headers["retry-after-ms"]) <= 1000
    # writes have their own bucket
    assert emu.put(rg, {"location": "westeurope"}).status_code == 200
    time.sleep(1.05)
    assert emu.get(rg).status_code == 200
    emu.control("POST", "throttling", {"enabled": False})
    assert all(emu.get(rg).status_code == 200 for _ in range(5))


@pytest.mark.parametrize("kind,status,code", [("429", 429, "TooManyRequests"), ("500", 500, "InternalServerError"),
                                               ("503", 503, "ServiceUnavailable"),
                                               ("conflict", 409, "AnotherOperationInProgress")])
def test_status_faults(emu, rg, kind, status, code):
    f = emu.fault(method="GET", path_regex="resourceGroups/rg-", kind=kind, count=2, after=1, retry_after=2)
    assert emu.get(rg).status_code == 200                 # 'after': first match passes
    for _ in range(2):
        r = emu.get(rg)
        assert r.status_code == status and r.json()["error"]["code"] == code
        if kind in ("429", "503"):
            assert r.headers["Retry-After"] == "2"
    assert emu.get(rg).status_code == 200                 # spent
    faults = emu.control("GET", "faults").json()["value"]
    assert [x["fired"] for x in faults if x["id"] == f["id"]] == [2]


def test_reset_fault_closes_connection(emu, rg):
    emu.fault(method="GET", path_regex="resourceGroups/rg-", kind="reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        emu.get(rg)
    assert emu.get(rg).status_code == 200


def test_hang_fault_outlasts_client_timeout(emu, rg):
    emu.fault(method="GET", path_regex="resourceGroups/rg-", kind="hang", seconds=1.0)
    t0 = time.monotonic()
    with pytest.raises((requests.exceptions.Timeout, requests.exceptions.ConnectionError)):
        emu.get(rg, timeout=0.3)
    assert time.monotonic() - t0 < 1.0
    assert emu.get(rg).status_code == 200


def test_latency_and_error_faults(emu, rg):
    emu.fault(method="*", path_regex="resourceGroups/rg-", kind="latency", seconds=0.2)
    t0 = time.monotonic()
    assert emu.get(rg).status_code == 200
    assert time.monotonic() - t0 >= 0.2
    emu.fault(method="PUT", path_regex="virtualNetworks", kind="error", status=403, code="AuthorizationFailed",
              message="The client does not have authorization.")
    r = emu.put(f"{net(rg)}/virtualNetworks/v", {"location": "westeurope"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed"


def test_raw_fault_answers_exactly_those_bytes(emu, rg):
    html = "<html><body><h1>Requ\u00eate refus\u00e9e</h1></body></html>".encode("latin-1")
    emu.fault(method="PUT", path_regex="virtualNetworks/v$", kind="raw", status=400,
              headers={"Content-Type": "text/html; charset=iso-8859-1", "x-ms-request-id": "caf\u00e9"},
              body_b64=base64.b64encode(html).decode())
    r = emu.put(f"{net(rg)}/virtualNetworks/v", {"location": "westeurope"})
    assert r.status_code == 400 and r.content == html
    assert r.headers["x-ms-request-id"].encode("latin-1") == b"caf\xe9"   # the byte itself, not UTF-8
    assert "x-ms-correlation-request-id" not in r.headers                   # nothing ARM-like added
    assert emu.get(f"{net(rg)}/virtualNetworks/v").status_code == 404       # never handled
    assert emu.control("POST", "faults", {"kind": "raw", "body_b64": "%%%"}).status_code == 400


def test_lost_answer_fault_handles_then_resets(emu, rg):
    vnet = f"{net(rg)}/virtualNetworks/v"
    emu.fault(method="PUT", path_regex="virtualNetworks/v$", kind="lost_answer")
    with pytest.raises(requests.exceptions.ConnectionError):
        emu.put(vnet, {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.9.0.0/16"]}}})
    assert emu.get(vnet).status_code == 200                                 # it was written all the same
    log = [e for e in emu.control("GET", "requests?kind=arm").json()["value"] if e["method"] == "PUT"]
    assert log[-1]["error_code"] == "fault:lost_answer" and log[-1]["action"] == "reset"


def test_error_fault_carries_target_details_and_additional_info(emu, rg):
    info = [{"type": "PolicyViolation", "info": {"policyDefinitionDisplayName": "Allowed locations",
                                                 "evaluationDetails": {"evaluatedExpressions": []}}}]
    emu.fault(method="PUT", path_regex="virtualNetworks", kind="error", status=403, code="RequestDisallowedByPolicy",
              message="Resource 'v' was disallowed by policy.", target="v",
              details=[{"code": "PolicyViolation", "message": "Location not allowed."}], additionalInfo=info)
    err = emu.put(f"{net(rg)}/virtualNetworks/v", {"location": "westeurope"}).json()["error"]
    assert err == {"code": "RequestDisallowedByPolicy", "message": "Resource 'v' was disallowed by policy.",
                   "target": "v", "details": [{"code": "PolicyViolation", "message": "Location not allowed."}],
                   "additionalInfo": info}
    for bad in ({"details": "x"}, {"details": [{"code": "c"}]}, {"additionalInfo": [{"info": {}}]}, {"target": 1}):
        assert emu.control("POST", "faults", {"kind": "error", **bad}).status_code == 400


def test_fault_api_validation_and_removal(emu):
    r = emu.control("POST", "faults", {"kind": "meteor"})
    assert r.status_code == 400
    f = emu.fault(kind="500", path_regex=".*", count=-1)
    assert f["count"] is None
    assert emu.control("DELETE", f"faults/{f['id']}").status_code == 200
    assert emu.control("GET", "faults").json()["value"] == []


def test_drift_modify_and_delete(emu, rg):
    vnet = make_vnet(emu, rg, subnets=[{"name": "a", "properties": {"addressPrefix": "10.0.0.0/24"}}])
    r = emu.control("POST", "drift", {"id": vnet["id"], "set": {"tags.changed": "by-hand",
                                                                "properties.dhcpOptions": {"dnsServers": ["1.1.1.1"]}}})
    assert r.status_code == 200
    now = emu.get(vnet["id"]).json()
    assert now["tags"] == {"changed": "by-hand"} and now["etag"] != vnet["etag"]
    assert now["properties"]["dhcpOptions"]["dnsServers"] == ["1.1.1.1"]
    emu.control("POST", "drift", {"id": vnet["id"] + "/subnets/a", "action": "delete"})
    assert emu.get(vnet["id"] + "/subnets/a").status_code == 404
    emu.control("POST", "drift", {"id": vnet["id"], "action": "state", "state": "Failed"})
    assert emu.get(vnet["id"]).json()["properties"]["provisioningState"] == "Failed"


def test_dump_store_and_request_log(emu, rg):
    make_vnet(emu, rg)
    dump = emu.control("GET", "store").json()
    types = {x["type"] for x in dump["resources"]}
    assert {"Microsoft.Resources/resourceGroups", "Microsoft.Network/virtualNetworks"} <= types
    reqs = emu.control("GET", "requests?kind=arm").json()["value"]
    puts = [e for e in reqs if e["method"] == "PUT"]
    assert puts and puts[-1]["api_version"] == "2025-09-01" and puts[-1]["resource_type"] == \
        "Microsoft.Network/virtualNetworks"
    assert all("authorization" not in {k.lower() for k in e["headers"]} for e in reqs)
    tok = emu.control("GET", "requests?kind=auth").json()["value"]
    assert tok and tok[0]["body"]["client_secret"] == "<redacted>"


def test_reset_clears_everything(emu, rg):
    make_vnet(emu, rg)
    emu.fault(kind="500", path_regex="never-matches")
    emu.control("POST", "reset")
    assert emu.get(rg).status_code in (401, 404)     # the store is empty (the old token is still valid)
    assert emu.control("GET", "faults").json()["value"] == []


def test_reset_drops_requests_of_the_previous_generation(emu, rg):
    """A request still in the emulator when /reset comes (held here by a latency fault, as a
    test's cancelled PUT may be) belongs to the test that sent it: it writes nothing into the
    store the next test starts with, and is not in its request log."""
    vnet = f"{net(rg)}/virtualNetworks/vnet-late"
    emu.fault(kind="latency", method="PUT", path_regex="/virtualNetworks/vnet-late$", seconds=1, count=1)
    late = EmulatorClient(emu.url, emu.ca, emu.tenant, emu.subscription, emu.client_id, emu.client_secret)
    late.token()
    out: list = []

    def put():
        try:
            out.append(late.put(vnet, {"location": "westeurope",
                                       "properties": {"addressSpace": {"addressPrefixes": ["10.9.0.0/24"]}}}))
        except requests.ConnectionError as e:
            out.append(e)

    t = threading.Thread(target=put)
    t.start()
    deadline = time.monotonic() + 10
    while not emu.control("GET", "faults").json()["value"][0]["fired"] and time.monotonic() < deadline:
        time.sleep(0.02)
    emu.control("POST", "reset").raise_for_status()
    # the next test's world: the same resource group again
    assert emu.put(rg, {"location": "westeurope"}).status_code == 201
    t.join(30)
    assert out and isinstance(out[0], requests.ConnectionError), out
    ids = [r["id"] for r in emu.control("GET", "store").json()["resources"]]
    assert ids == [rg], ids
    assert not [r for r in emu.control("GET", "requests?kind=arm").json()["value"]
                if "vnet-late" in r["path"]]
    late.s.close()


def test_config_validation(emu):
    assert emu.control("POST", "config", {"nope": 1}).status_code == 400
    assert emu.control("POST", "config", {"enum_mode": "loose"}).status_code == 400
    assert emu.control("POST", "time-scale", {"scale": 0.5}).json()["time_scale"] == 0.5
