"""Long-running operations: headers, status progression, Location polling, deletes, time scale, failures."""
from __future__ import annotations

import time

from .conftest import make_vnet, net
from .doc_bodies import BODIES


def test_async_put_headers_and_progression(emu, rg):
    emu.control("POST", "time-scale", {"scale": 0.02})          # public IP: 3 s Azure -> 60 ms
    pid = f"{net(rg)}/publicIPAddresses/pip"
    r = emu.put(pid, BODIES["Microsoft.Network/publicIPAddresses"])
    assert r.status_code == 201
    assert r.json()["properties"]["provisioningState"] == "Updating"
    for h in ("Azure-AsyncOperation", "Location", "Retry-After", "retry-after-ms"):
        assert h in r.headers, h
    assert int(r.headers["Retry-After"]) >= 1
    st = emu.get(r.headers["Azure-AsyncOperation"])
    assert st.status_code == 200 and st.json()["status"] == "InProgress"
    loc = emu.get(r.headers["Location"])
    assert loc.status_code == 202 and "Location" in loc.headers
    time.sleep(0.1)
    st = emu.get(r.headers["Azure-AsyncOperation"]).json()
    assert st["status"] == "Succeeded" and st["endTime"]
    loc = emu.get(r.headers["Location"])
    assert loc.status_code == 200 and loc.json()["id"] == pid
    assert emu.get(pid).json()["properties"]["provisioningState"] == "Succeeded"
    # update: 200 with Updating
    r = emu.put(pid, BODIES["Microsoft.Network/publicIPAddresses"] | {"tags": {"a": "b"}})
    assert r.status_code == 200 and r.json()["properties"]["provisioningState"] == "Updating"


def test_delete_is_202_then_404(emu, rg):
    vnet = make_vnet(emu, rg)
    emu.control("POST", "time-scale", {"scale": 0.02})      # VNet delete: 10 s Azure -> 200 ms
    r = emu.delete(vnet["id"])
    assert r.status_code == 202 and "Location" in r.headers
    assert emu.get(vnet["id"]).json()["properties"]["provisioningState"] == "Deleting"
    done = emu.wait(r)
    assert done.status_code == 200 and done.json()["status"] == "Succeeded"
    assert emu.get(vnet["id"]).status_code == 404
    assert emu.get(vnet["id"] + "/subnets").status_code == 404
    # deleting what does not exist: 204
    assert emu.delete(vnet["id"]).status_code == 204


def test_durations_follow_azure_proportions(emu, rg):
    emu.control("POST", "time-scale", {"scale": 0.001})
    vnet = make_vnet(emu, rg, subnets=[{"name": "AzureFirewallSubnet", "properties": {"addressPrefix": "10.0.0.0/26"}}])
    pip = emu.put_and_wait(f"{net(rg)}/publicIPAddresses/pip", BODIES["Microsoft.Network/publicIPAddresses"])
    t0 = time.monotonic()
    r = emu.put(f"{net(rg)}/azureFirewalls/fw", {"location": "westeurope", "properties": {
        "sku": {"name": "AZFW_VNet", "tier": "Standard"}, "ipConfigurations": [{"name": "c", "properties": {
            "subnet": {"id": vnet["id"] + "/subnets/AzureFirewallSubnet"}, "publicIPAddress": {"id": pip["id"]}}}]}})
    emu.wait(r)
    fw_wall = time.monotonic() - t0
    assert 0.55 <= fw_wall < 1.5, fw_wall     # 10 min x 0.001
    t0 = time.monotonic()
    emu.put_and_wait(f"{net(rg)}/publicIPAddresses/pip2", BODIES["Microsoft.Network/publicIPAddresses"])
    assert time.monotonic() - t0 < 0.2


def test_resource_group_delete_cascades_asynchronously(emu):
    emu.control("POST", "time-scale", {"scale": 0.005})
    rg = emu.rg_id("rg-cascade")
    emu.put(rg, {"location": "westeurope"})
    vnet = make_vnet(emu, rg)
    uami = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1", {"location": "westeurope"})
    r = emu.delete(rg)
    assert r.status_code == 202 and "Location" in r.headers
    g = emu.get(rg)
    assert g.status_code == 200 and g.json()["properties"]["provisioningState"] == "Deleting"
    assert emu.get(vnet["id"]).status_code == 200        # still there while the group deletes
    w = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2", {"location": "westeurope"})
    assert w.status_code == 409 and w.json()["error"]["code"] == "ResourceGroupBeingDeleted"
    assert emu.wait(r).status_code == 204
    assert emu.get(rg).status_code == 404
    assert emu.get(vnet["id"]).json()["error"]["code"] == "ResourceGroupNotFound"
    assert emu.get(uami.json()["id"]).status_code == 404
    assert emu.delete(rg).status_code == 404


def test_async_failed_fault(emu, rg):
    emu.fault(method="PUT", path_regex="/publicIPAddresses/pip-bad$", kind="async_failed",
              code="PublicIPCountLimitReached", message="Cannot create more than 0 public IP addresses.")
    pid = f"{net(rg)}/publicIPAddresses/pip-bad"
    r = emu.put(pid, BODIES["Microsoft.Network/publicIPAddresses"])
    assert r.status_code == 201
    st = emu.wait(r).json()
    assert st["status"] == "Failed" and st["error"]["code"] == "PublicIPCountLimitReached"
    loc = emu.get(r.headers["Location"])
    assert loc.status_code == 400 and loc.json()["error"]["code"] == "PublicIPCountLimitReached"
    assert emu.get(pid).json()["properties"]["provisioningState"] == "Failed"
    # a retry of the PUT succeeds (the fault fired once)
    assert emu.wait(emu.put(pid, BODIES["Microsoft.Network/publicIPAddresses"])).json()["status"] == "Succeeded"


def test_private_dns_answers_202_with_resource_group_monitors(emu, rg):
    zone = f"{net(rg)}/privateDnsZones/privatelink.azuredatabricks.net"
    for _ in ("create", "update"):
        r = emu.put(zone, {"location": "global"})
        assert r.status_code == 202 and r.content == b"" and r.headers["Retry-After"]
        assert f"{net(rg)}/privateDnsOperationStatuses/" in r.headers["Azure-AsyncOperation"]
        assert f"{net(rg)}/privateDnsOperationResults/" in r.headers["Location"]
        assert emu.get(r.headers["Azure-AsyncOperation"]).json()["status"] in ("InProgress", "Succeeded")
        assert emu.wait(r).json()["status"] == "Succeeded"
        assert emu.get(r.headers["Location"]).json()["name"] == "privatelink.azuredatabricks.net"
    r = emu.delete(zone)
    assert r.status_code == 202 and "privateDnsOperationStatuses" in r.headers["Azure-AsyncOperation"]
    emu.wait(r)
    assert emu.get(zone).status_code == 404


def test_operations_can_be_completed_by_the_test(emu, rg):
    emu.control("POST", "time-scale", {"scale": 1.0})           # real time: a firewall would take 10 minutes
    pip = f"{net(rg)}/publicIPAddresses/p"
    r = emu.put(pip, BODIES["Microsoft.Network/publicIPAddresses"])
    assert emu.get(r.headers["Azure-AsyncOperation"]).json()["status"] == "InProgress"
    ops = emu.control("GET", "operations").json()["value"]
    assert any(o["resource_id"].endswith("/p") and o["status"] == "InProgress" for o in ops)
    assert emu.control("POST", "operations/complete").json()["completed"] >= 1
    assert emu.get(r.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded"
