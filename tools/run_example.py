#!/usr/bin/env python3
"""The README's main job: bring up the local ARM emulator, sign in without a
secret (workload identity federation, the way a GitHub Actions run does),
apply an example with real Terraform and print its outputs.

    tools/run_example.py [--example DIR] [--provider BIN] [--keep]

The provider is installed from a filesystem mirror holding just this build,
exactly as an air-gapped user installs it. Every request body the provider
sent is re-validated against Microsoft's definitions at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))
import pydeps  # noqa: E402

pydeps.check()   # one line naming a missing package, not an ImportError traceback
from tests.emulator.client import EmulatorClient  # noqa: E402

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_SUBJECT = "repo:contoso/platform:ref:refs/heads/main"  # the emulator issuer's default
TAGS = {"environment": "prod", "project": "data-platform", "owner": "platform-team@example.com",
        "cost-centre": "CC-1042"}


def project_version() -> str:
    out = subprocess.run(["meson", "introspect", str(REPO / "meson.build"), "--projectinfo"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["version"]


def start_emulator(state: Path) -> tuple[subprocess.Popen, dict]:
    log = open(state / "emulator.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulator", "--host", "127.0.0.1",
                             "--port", "0", "--http-port", "-1", "--state-dir", str(state)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            return proc, json.loads((state / "emulator.json").read_text())
        except (OSError, ValueError):
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"the ARM emulator did not start:\n{(state / 'emulator.log').read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def prepare_azure(info: dict, resource_groups: list[str]) -> str:
    """What a platform team has before running Terraform: an app registration
    trusting the CI's OIDC tokens, and the resource groups. Returns the
    app's client ID."""
    admin = EmulatorClient.from_info(info)
    client_id = str(uuid.uuid4())
    admin.control("POST", "clients", {
        "client_id": client_id,
        "federated": [{"issuer": GITHUB_ISSUER, "subject": GITHUB_SUBJECT,
                       "audiences": ["api://AzureADTokenExchange"]}],
    }).raise_for_status()
    for rg in resource_groups:
        admin.put_and_wait(admin.rg_id(rg), {"location": "westeurope", "tags": TAGS})
    return client_id


def mirror_and_cli_config(work: Path, provider: Path, version: str) -> Path:
    pkg = work / "mirror/registry.zerotrust.internal/zerotrust/zerotrust" / version / "linux_amd64"
    pkg.mkdir(parents=True)
    shutil.copy2(provider, pkg / f"terraform-provider-zerotrust_v{version}")
    rc = work / "terraformrc"
    rc.write_text(f'''provider_installation {{
  filesystem_mirror {{
    path    = "{work / 'mirror'}"
    include = ["registry.zerotrust.internal/zerotrust/*"]
  }}
  direct {{
    exclude = ["registry.zerotrust.internal/zerotrust/*"]
  }}
}}
''')
    return rc


def keyless_env(info: dict, client_id: str, cli_config: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ARM_", "AZURE_", "ACTIONS_ID_TOKEN"))}
    env.update({
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_IN_AUTOMATION": "1",
        "ARM_USE_OIDC": "true",
        "ARM_CLIENT_ID": client_id,
        "ARM_TENANT_ID": info["tenant_id"],
        "ARM_SUBSCRIPTION_ID": info["subscription_id"],
        "ACTIONS_ID_TOKEN_REQUEST_URL": info["github_oidc"]["request_url"],
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": info["github_oidc"]["request_token"],
        # the emulator stands in for Azure: its endpoints, trusted through its test CA
        "ARM_RESOURCE_MANAGER_ENDPOINT": info["url"],
        "ARM_AUTHORITY_HOST": info["url"],
        "ARM_CA_BUNDLE_PATH": info["ca_cert"],
        # its clock runs 1000x faster than Azure's: so may the provider's polls
        "ZT_ARM_MIN_POLL_MS": "10",
        # and so do the durations the provider expects (the emulator's default time scale)
        "ZT_ARM_TIME_SCALE": "0.001",
        # what `az ad sp show --id <AzureDatabricks app>` answers in the emulated tenant
        "TF_VAR_azure_databricks_principal_id": info["first_party"]["AzureDatabricks"]["object_id"],
    })
    return env


def terraform(env: dict, workdir: Path, *args: str) -> None:
    cmd = [str(REPO / "tools/terraform"), f"-chdir={workdir}", *args, "-no-color"]
    print(f"$ terraform {' '.join(args)}", flush=True)
    r = subprocess.run(cmd, env=env)
    if r.returncode != 0:
        sys.exit(f"terraform {args[0]} failed (exit {r.returncode})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--example", default=str(REPO / "examples/platform"))
    ap.add_argument("--provider", default=str(REPO / "build/terraform-provider-zerotrust"))
    ap.add_argument("--resource-group", action="append", default=None,
                    help="resource groups to create first (default: the example's rg-* defaults)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="zt-main-"))
    emulator = None
    try:
        (work / "emulator").mkdir()
        emulator, info = start_emulator(work / "emulator")
        example = Path(a.example)
        groups = a.resource_group or sorted({line.split('"')[1] for line in
                                             (example / "main.tf").read_text().splitlines()
                                             if "default" in line and '"rg-' in line})
        client_id = prepare_azure(info, groups)
        cli_config = mirror_and_cli_config(work, Path(a.provider), project_version())
        run = work / "run"
        shutil.copytree(example, run)
        env = keyless_env(info, client_id, cli_config)
        terraform(env, run, "init", "-input=false")
        terraform(env, run, "apply", "-input=false", "-auto-approve")
        terraform(env, run, "output")
        v = subprocess.run([sys.executable, "-m", "tests.emulator.validate",
                            info.get("request_log", str(work / "emulator/requests.jsonl"))],
                           cwd=REPO, capture_output=True, text=True)
        print(v.stdout.strip().splitlines()[-1] if v.stdout.strip() else v.stderr.strip())
        return v.returncode
    finally:
        if emulator:
            stop(emulator)
        if a.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
