"""Process-level behaviour: start-up forms, state files, TLS, concurrency, clean shutdown."""
from __future__ import annotations

import json
import shutil
import signal
import ssl
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .client import EmulatorClient
from .conftest import net

REPO = Path(__file__).resolve().parents[2]


def _start(args, tmp_path):
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable] + args + ["--state-dir", str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    return p, json.loads(line), time.monotonic() - t0


@pytest.mark.parametrize("form", [["-m", "tests.emulator"], ["tests/emulator/server.py", "--port", "0"]])
def test_starts_prints_url_and_stops_cleanly(tmp_path, form):
    p, info, elapsed = _start(form, tmp_path)
    try:
        assert info["url"].startswith("https://127.0.0.1:")
        assert elapsed < 5, elapsed       # well under a second on an idle machine; CI machines are shared
        state = json.loads((tmp_path / "emulator.json").read_text())
        assert state["url"] == info["url"] and Path(state["ca_cert"]).exists()
        assert (tmp_path / "url").read_text().strip() == info["url"]
        c = EmulatorClient.from_info(info)
        rg = c.rg_id("rg-proc")
        assert c.put(rg, {"location": "westeurope"}).status_code == 201
        assert c.get(rg).status_code == 200
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=10)
    assert rc == 0, p.stderr.read()
    log = [json.loads(x) for x in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert [e["method"] for e in log if e["kind"] == "arm"] == ["PUT", "GET"]
    v = subprocess.run([sys.executable, "-m", "tests.emulator.validate", str(tmp_path / "requests.jsonl")], cwd=REPO,
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr


def test_tls_certificate_names(server):
    ca = server.info["ca_cert"]
    port = server.info["port"]
    for host in ("localhost", "127.0.0.1"):
        ctx = ssl.create_default_context(cafile=ca)
        import socket
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname=host) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_with_the_test_ca(server, emu):
    tok = emu.token()
    out = subprocess.run(["curl", "-sS", "--cacert", server.info["ca_cert"], "-H", f"Authorization: Bearer {tok}",
                          f"{server.info['url'].replace('127.0.0.1', 'localhost')}/subscriptions?api-version=2022-12-01"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["value"][0]["subscriptionId"] == emu.subscription


def test_many_concurrent_requests(emu, rg):
    token = emu.token()
    clients = [EmulatorClient(emu.url, emu.ca, emu.tenant, emu.subscription, emu.client_id, emu.client_secret)
               for _ in range(16)]
    for c in clients:
        c._token = token

    def work(i):
        c = clients[i % len(clients)]
        rid = f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id{i}"
        a = c.put(rid, {"location": "westeurope"}).status_code
        b = c.get(rid).status_code
        return a, b
    t0 = time.monotonic()
    with ThreadPoolExecutor(16) as ex:
        results = list(ex.map(work, range(64)))
    assert all(r == (201, 200) for r in results)
    assert time.monotonic() - t0 < 15
    assert len(emu.get(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities").json()["value"]) == 64
    for c in clients:
        c.s.close()


def test_case_insensitive_paths_echo_creation_casing(emu, rg):
    vid = f"{net(rg)}/virtualNetworks/Vnet-Case"
    emu.put_and_wait(vid, {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.9.0.0/16"]}}})
    odd = vid.replace("Microsoft.Network", "microsoft.network").replace("virtualNetworks", "VIRTUALNETWORKS") \
        .replace("Vnet-Case", "vnet-case")
    r = emu.get(odd, api_version="2025-09-01")
    assert r.status_code == 200
    assert r.json()["name"] == "Vnet-Case" and r.json()["id"].endswith("/providers/Microsoft.Network/virtualNetworks/"
                                                                        "Vnet-Case")


def test_busy_port_is_one_clear_line():
    """Another program on the port: exit 2 with a sentence, no traceback, no native abort."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = subprocess.run([sys.executable, "-m", "tests.emulator", "--port", str(port)],
                           cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                           timeout=60)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip() == (f"emulator: the HTTPS port 127.0.0.1:{port} is in use by another "
                                "program (give another one, or 0 for a free one)"), p.stderr
