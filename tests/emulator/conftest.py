"""Fixtures: one in-process emulator for the session, reset before every test."""
from __future__ import annotations

import uuid

import pytest

from .client import EmulatorClient
from .config import Config
from .server import EmulatorServer


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = EmulatorServer(state_dir=tmp_path_factory.mktemp("emulator"), config=Config(time_scale=0.001)).start()
    yield srv
    srv.stop()


@pytest.fixture
def emu(server) -> EmulatorClient:
    c = EmulatorClient.from_info(server.info)
    c.control("POST", "reset").raise_for_status()
    c.control("POST", "config", {"time_scale": 0.001, "enum_mode": "strict", "validate_bodies": True,
                                 "page_size": 100, "retry_after_floor": 1,
                                 "require_provider_registration": False}).raise_for_status()
    c.control("POST", "throttling", {"enabled": False, "reads": {"capacity": 250, "refill_per_second": 25},
                                     "writes": {"capacity": 200, "refill_per_second": 10},
                                     "deletes": {"capacity": 200, "refill_per_second": 10}}).raise_for_status()
    yield c
    c.s.close()


@pytest.fixture
def rg(emu) -> str:
    rid = emu.rg_id(f"rg-{uuid.uuid4().hex[:8]}")
    r = emu.put(rid, {"location": "westeurope", "tags": {"env": "test"}})
    assert r.status_code == 201, r.text
    return rid


def net(rg: str) -> str:
    return rg + "/providers/Microsoft.Network"


def make_vnet(emu, rg, name="vnet-hub", prefix="10.0.0.0/22", subnets=None):
    body = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": [prefix]}}}
    if subnets is not None:
        body["properties"]["subnets"] = subnets
    return emu.put_and_wait(f"{net(rg)}/virtualNetworks/{name}", body)


def make_subnet(emu, vnet_id, name, prefix, **props):
    return emu.put_and_wait(f"{vnet_id}/subnets/{name}", {"properties": {"addressPrefix": prefix, **props}})
