"""Self-tests of the harness's own detectors (no provider needed)."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from e2e_support import dirhash_h1, provider_processes_under, sockets_in


def test_dirhash_h1_matches_go_dirhash(tmp_path):
    # Go: dirhash.HashDir over {"a": "hello\n", "sub/b": ""}
    (tmp_path / "a").write_text("hello\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_text("")
    import base64
    import hashlib
    hello = hashlib.sha256(b"hello\n").hexdigest()
    empty = hashlib.sha256(b"").hexdigest()
    lines = f"{hello}  a\n{empty}  sub/b\n"
    want = "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()
    assert dirhash_h1(tmp_path) == want


def test_detects_a_leftover_provider_process(tmp_path):
    exe = tmp_path / "terraform-provider-zerotrust_v0.0.1"
    shutil.copy2("/bin/sleep", exe)
    p = subprocess.Popen([str(exe), "30"])
    try:
        time.sleep(0.2)
        assert provider_processes_under(tmp_path) == [p.pid]
    finally:
        p.kill()
        p.wait()
    assert provider_processes_under(tmp_path) == []


def test_detects_stale_and_live_sockets(tmp_path):
    live = socket.socket(socket.AF_UNIX)
    live.bind(str(tmp_path / "plugin1"))
    live.listen(1)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(tmp_path / "plugin2"))
    stale.close()
    try:
        assert sockets_in(tmp_path) == {str(tmp_path / "plugin1"): True,
                                        str(tmp_path / "plugin2"): False}
    finally:
        live.close()


def test_strip_provider_functions():
    from e2e_support import strip_provider_functions
    src = '''terraform {
  required_version = ">= 1.8"
  required_providers {
    zerotrust = { source = "registry.zerotrust.internal/zerotrust/zerotrust" }
  }
}
data "zerotrust_address_plan" "hub" {
  address_space = "10.0.0.0/22"
  layout        = "hub"
}
locals {
  layout = provider::zerotrust::cidr_layout("10.0.0.0/22", "hub")
}
output "plan" { value = data.zerotrust_address_plan.hub.subnets }
output "via_function" {
  value = local.layout # uses { braces } in a comment
}
output "direct" { value = provider::zerotrust::cidr_layout("10.1.0.0/22", "hub") }
'''
    out = strip_provider_functions(src)
    assert "provider::" not in out and "required_version" not in out
    assert 'output "plan"' in out and "via_function" not in out and "direct" not in out
    assert 'data "zerotrust_address_plan" "hub"' in out
