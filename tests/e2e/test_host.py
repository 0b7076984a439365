"""The provider's launch contract, checked by starting the binary the way
go-plugin does (docs: plugin-protocol.md §1). Not a replacement for
Terraform - everything past the handshake is exercised by real Terraform in
the other suites - only the parts Terraform would just report as "plugin
failed to start" or that it cannot observe (socket mode, refusing strangers).
"""
from __future__ import annotations

import datetime
import json
import os
import re
import signal
import stat
import ssl
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from e2e_support import (MAGIC_COOKIE_KEY, PROVIDER_SOURCE, REPO, get_runner, make_workspace,
                         plugin_env, pid_alive, stop_process)
from plugin_client import (HANDSHAKE_RE, grpc_channel, grpc_stubs, launch, make_autotls_cert,
                           plaintext_h2_probe, tls_probe)


@pytest.fixture
def short_tmp(tmp_path_factory):
    # unix socket paths are limited to 107 bytes: keep TMPDIR short.
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="zth-"))
    yield d
    import shutil
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def client_cert(short_tmp):
    return make_autotls_cert(short_tmp / "certs", "client")


@pytest.fixture
def served(provider_bin, short_tmp, client_cert):
    """The provider started with AutoMTLS, as Terraform starts it."""
    l = launch(provider_bin, {"PLUGIN_CLIENT_CERT": client_cert.cert_pem.decode(),
                              "TMPDIR": str(short_tmp)}, cwd=short_tmp)
    yield l
    stop_process(l.proc)


def _fail_no_handshake(l):
    rc = l.proc.poll()
    err = l.proc.stderr.read(3000) if rc is not None else b""
    pytest.fail(f"no handshake line within 10 s; first stdout line {l.line!r}, exit code {rc}, "
                f"stderr {err!r}", pytrace=False)


def test_handshake_line_format(served, short_tmp):
    l = served
    if not l.line:
        _fail_no_handshake(l)
    assert l.match, f"not a go-plugin handshake line: {l.line!r}"
    assert l.line == l.line.strip(), "whitespace around the handshake line"
    assert l.match.group("app") == "6", "PLUGIN_PROTOCOL_VERSIONS=5,6 must negotiate 6"
    cert = l.match.group("cert")
    assert cert and len(cert) > 50, "AutoMTLS is on (PLUGIN_CLIENT_CERT set): field 6 must hold the server cert"
    assert "=" not in cert, "the certificate must be base64 WITHOUT padding (Go RawStdEncoding)"
    assert re.fullmatch(r"[A-Za-z0-9+/]+", cert), "standard base64 alphabet"
    if l.network == "unix":
        assert l.address.startswith(str(short_tmp) + "/"), (
            f"socket {l.address} is not in $TMPDIR ({short_tmp})")
    else:
        assert l.address.startswith("127.0.0.1:"), l.address
        port = int(l.address.rsplit(":", 1)[1])
        assert 10000 <= port <= 25000, "TCP port outside PLUGIN_MIN_PORT..PLUGIN_MAX_PORT"


def test_nothing_on_stdout_before_handshake(served):
    l = served
    if not l.line:
        _fail_no_handshake(l)
    # read_line_with_timeout returned the very first line: it must be it.
    assert HANDSHAKE_RE.match(l.line), f"first stdout line is not the handshake: {l.line!r}"


def test_server_certificate(served):
    l = served
    if not l.match:
        _fail_no_handshake(l)
    der = l.server_cert_der
    cert = x509.load_der_x509_certificate(der)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName), "SAN must contain DNS localhost"
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.SERVER_AUTH in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku
    except x509.ExtensionNotFound:
        pass
    assert cert.serial_number > 0
    now = datetime.datetime.now(datetime.timezone.utc)
    assert cert.not_valid_before_utc <= now - datetime.timedelta(seconds=1), "NotBefore should be in the past"
    assert cert.not_valid_after_utc > now + datetime.timedelta(days=1)
    key = cert.public_key()
    assert isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey))
    if isinstance(key, rsa.RSAPublicKey):
        assert key.key_size >= 2048


def test_socket_mode_0600(served):
    l = served
    if not l.match:
        _fail_no_handshake(l)
    if l.network != "unix":
        pytest.skip("TCP listener")
    st = os.stat(l.address)
    assert stat.S_ISSOCK(st.st_mode), f"{l.address} is not a socket"
    assert stat.S_IMODE(st.st_mode) == 0o600, f"socket mode {oct(stat.S_IMODE(st.st_mode))}, want 0o600"
    assert st.st_uid == os.getuid()


def test_tls_with_the_right_client_cert_is_accepted(served, client_cert):
    """Control for the two refusal tests: the probe itself works."""
    l = served
    if not l.match:
        _fail_no_handshake(l)
    ok, detail, alpn = tls_probe(l, client_cert)
    assert ok, f"Terraform's connection would fail: {detail}"
    assert alpn == "h2", f"ALPN: server selected {alpn!r}; grpc-go clients require h2"


def test_tls12_is_accepted(served, short_tmp):
    """Keep TLS 1.2 enabled (Go clients in hardened setups fall back to it).
    Checked with a P-256 client certificate; see the next test for P-521."""
    l = served
    if not l.match:
        _fail_no_handshake(l)
    p256 = make_autotls_cert(short_tmp / "certs", "client256", ec.SECP256R1())
    l2 = launch(l.proc.args[0], {"PLUGIN_CLIENT_CERT": p256.cert_pem.decode(),
                                 "TMPDIR": str(short_tmp)}, cwd=short_tmp)
    try:
        if not l2.match:
            _fail_no_handshake(l2)
        ok, detail, _ = tls_probe(l2, p256, max_version=ssl.TLSVersion.TLSv1_2)
        assert ok, detail
    finally:
        stop_process(l2.proc)


@pytest.mark.xfail(reason="under TLS 1.2 the gRPC C core server rejects Terraform's P-521 client "
                   "certificate (OpenSSL 'wrong curve'; gRPC's TLS 1.2 curve list seems to be "
                   "P-256 only); TLS 1.3, which Terraform negotiates, works", strict=False)
def test_tls12_with_terraforms_p521_client_cert(served, client_cert):
    l = served
    if not l.match:
        _fail_no_handshake(l)
    ok, detail, _ = tls_probe(l, client_cert, max_version=ssl.TLSVersion.TLSv1_2)
    assert ok, detail


def test_tls_without_client_cert_is_refused(served):
    l = served
    if not l.match:
        _fail_no_handshake(l)
    ok, detail, _ = tls_probe(l, None)
    assert not ok, "a TLS client without a certificate got an HTTP/2 session: client auth is not required"


def test_tls_with_wrong_client_cert_is_refused(served, short_tmp):
    l = served
    if not l.match:
        _fail_no_handshake(l)
    # Same subject and template as Terraform's, different key: not the cert
    # in PLUGIN_CLIENT_CERT, so it must not verify.
    stranger = make_autotls_cert(short_tmp / "certs", "stranger")
    ok, detail, _ = tls_probe(l, stranger)
    assert not ok, "a client certificate other than PLUGIN_CLIENT_CERT was accepted"


def test_plaintext_to_tls_listener_is_refused(served):
    l = served
    if not l.match:
        _fail_no_handshake(l)
    ok, detail = plaintext_h2_probe(l)
    assert not ok, "the AutoMTLS listener also speaks plaintext HTTP/2"


def test_sigint_is_ignored(served, client_cert):
    """Ctrl-C goes to the whole process group; cancellation comes as the
    StopProvider RPC, so a go-plugin server ignores SIGINT."""
    l = served
    if not l.match:
        _fail_no_handshake(l)
    l.proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert l.proc.poll() is None, f"the provider exited on SIGINT (code {l.proc.returncode})"
    ok, detail, _ = tls_probe(l, client_cert)
    assert ok, f"not serving after SIGINT: {detail}"


def _asan_build(binary: Path) -> bool:
    """Built with AddressSanitizer (-Db_sanitize=address: the binary calls __asan_init)."""
    return b"__asan_init" in Path(binary).read_bytes()


def test_crash_prints_panic_report(served, provider_bin):
    """A fatal signal becomes a "panic: " report on stderr, which go-plugin
    turns into Terraform's "The plugin crashed!" message with the log."""
    if _asan_build(provider_bin):
        pytest.skip("an AddressSanitizer build reports SIGSEGV itself (test_crash_report_of_asan_build)")
    l = served
    if not l.match:
        _fail_no_handshake(l)
    l.proc.send_signal(signal.SIGSEGV)
    l.proc.wait(timeout=10)
    err = l.proc.stderr.read().decode(errors="replace")
    assert l.proc.returncode == -signal.SIGSEGV, l.proc.returncode
    lines = [x for x in err.splitlines() if x.startswith("panic: ")]
    assert lines and "SIGSEGV" in lines[0], err[-2000:]


def test_crash_report_of_asan_build(provider_bin, short_tmp, client_cert):
    """In an AddressSanitizer build (e2e suites run with ZT_PROVIDER_BIN=build-asan/...; tools/
    test.sh runs this test so), a SIGSEGV is ASan's to report: the crash handler must not replace
    ASan's, whose report (the access, the stack) is what a crash under e2e needs. With
    abort_on_error=1, as tools/test.sh sets it, ASan ends in abort() and the panic line Terraform
    looks for follows the report."""
    if not _asan_build(provider_bin):
        pytest.skip("not an AddressSanitizer build")
    l = launch(provider_bin, {"PLUGIN_CLIENT_CERT": client_cert.cert_pem.decode(), "TMPDIR": str(short_tmp),
                              "ASAN_OPTIONS": "abort_on_error=1:detect_leaks=0"}, cwd=short_tmp)
    try:
        if not l.match:
            _fail_no_handshake(l)
        l.proc.send_signal(signal.SIGSEGV)
        l.proc.wait(timeout=30)
        err = l.proc.stderr.read().decode(errors="replace")
    finally:
        stop_process(l.proc)
    report = err.find("ERROR: AddressSanitizer: SEGV")
    assert report >= 0, err[-3000:]
    assert "#0 " in err[report:], err[-3000:]          # the stack of the signal
    panic = err.find("panic: terraform-provider-zerotrust crashed with signal SIGABRT")
    assert panic > report, err[-3000:]
    assert l.proc.returncode == -signal.SIGABRT, l.proc.returncode


def test_shutdown_rpc_exits_and_removes_socket(served, client_cert):
    """go-plugin's Kill(): GRPCController.Shutdown, then it waits 2 s and
    SIGKILLs. The provider must exit within that, removing its socket."""
    l = served
    if not l.match:
        _fail_no_handshake(l)
    tf6, tf6_grpc, plugin_pb2, plugin_grpc = grpc_stubs(REPO / "proto")
    ch, relay = grpc_channel(l, client_cert, Path(l.address).parent if l.network == "unix" else None)
    try:
        schema = tf6_grpc.ProviderStub(ch).GetProviderSchema(tf6.GetProviderSchema.Request(), timeout=10)
        assert not [d for d in schema.diagnostics if d.severity == 1], schema.diagnostics
        try:
            plugin_grpc.GRPCControllerStub(ch).Shutdown(plugin_pb2.Empty(), timeout=5)
        except grpc.RpcError as exc:
            # go-plugin's own server stops before answering; go-plugin's
            # client ignores the error. Only "not implemented" is wrong.
            assert exc.code() != grpc.StatusCode.UNIMPLEMENTED, "GRPCController.Shutdown is not implemented"
    finally:
        ch.close()
        if relay:
            relay.close()
    try:
        rc = l.proc.wait(2.0)
    except subprocess.TimeoutExpired:
        pytest.fail("still running 2 s after Shutdown: Terraform would SIGKILL it")
    assert rc == 0, f"exit code {rc} after Shutdown"
    if l.network == "unix":
        assert not os.path.exists(l.address), f"socket {l.address} left behind after Shutdown"


def test_plaintext_without_client_cert_env(provider_bin, short_tmp):
    """TF_DISABLE_PLUGIN_TLS: no PLUGIN_CLIENT_CERT -> plaintext, field 6 empty."""
    l = launch(provider_bin, {"TMPDIR": str(short_tmp)}, cwd=short_tmp)
    try:
        if not l.match:
            _fail_no_handshake(l)
        assert not l.match.group("cert"), f"a certificate without AutoMTLS: {l.line!r}"
        ok, detail = plaintext_h2_probe(l)
        assert ok, f"plaintext HTTP/2 not served: {detail}"
    finally:
        stop_process(l.proc)


def test_plugin_unix_socket_dir_is_honoured(provider_bin, short_tmp, client_cert):
    sockdir = short_tmp / "socks"
    sockdir.mkdir()
    l = launch(provider_bin, {"PLUGIN_CLIENT_CERT": client_cert.cert_pem.decode(),
                              "TMPDIR": str(short_tmp), "PLUGIN_UNIX_SOCKET_DIR": str(sockdir)})
    try:
        if not l.match:
            _fail_no_handshake(l)
        if l.network != "unix":
            pytest.skip("TCP listener")
        assert Path(l.address).parent == sockdir, l.address
    finally:
        stop_process(l.proc)


@pytest.mark.parametrize("cookie", ["missing", "wrong"])
def test_without_magic_cookie_prints_message_and_exits_1(provider_bin, short_tmp, cookie):
    env = plugin_env({"TMPDIR": str(short_tmp)}, cookie=False)
    if cookie == "wrong":
        env[MAGIC_COOKIE_KEY] = "0" * 64
    try:
        p = subprocess.run([str(provider_bin)], env=env, capture_output=True, text=True,
                           timeout=10, stdin=subprocess.DEVNULL, cwd=short_tmp)
    except subprocess.TimeoutExpired:
        pytest.fail("without the magic cookie the provider kept running (it must exit 1)")
    assert p.returncode == 1, f"exit code {p.returncode}; stderr {p.stderr!r}"
    assert p.stdout == "", f"printed on stdout: {p.stdout!r}"
    msg = p.stderr.strip()
    assert msg, "no message on stderr"
    assert not msg.startswith("{"), f"a log line is not a human message: {msg!r}"
    assert re.search(r"plugin|terraform", msg, re.I), msg
    assert not list(short_tmp.glob("plugin*")), "created a socket without the cookie"


def _read_reattach(p: subprocess.Popen, timeout: float = 10.0) -> tuple[dict | None, str]:
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(rb"TF_REATTACH_PROVIDERS='?(\{.*\})'?\s*$", buf, re.M)
        if m:
            return json.loads(m.group(1)), buf.decode(errors="replace")
        if not sel.select(max(0.0, deadline - time.monotonic())):
            break
        chunk = os.read(p.stdout.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
    return None, buf.decode(errors="replace")


@pytest.fixture
def debug_provider(provider_bin, short_tmp):
    env = plugin_env({"TMPDIR": str(short_tmp)}, cookie=False)
    for k in ("PLUGIN_PROTOCOL_VERSIONS", "PLUGIN_MIN_PORT", "PLUGIN_MAX_PORT"):
        env.pop(k, None)
    p = subprocess.Popen([str(provider_bin), "-debug"], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=short_tmp)
    reattach, text = _read_reattach(p)
    yield p, reattach, text
    stop_process(p)


def test_debug_prints_reattach_line(debug_provider):
    p, reattach, text = debug_provider
    assert reattach is not None, (f"no TF_REATTACH_PROVIDERS='{{...}}' line on stdout within 10 s; "
                                  f"stdout: {text!r}; exit code {p.poll()}")
    assert PROVIDER_SOURCE in reattach, f"keyed by {list(reattach)}, want {PROVIDER_SOURCE}"
    e = reattach[PROVIDER_SOURCE]
    assert e.get("Protocol") == "grpc"
    assert e.get("ProtocolVersion") == 6
    assert e.get("Pid") == p.pid
    addr = e.get("Addr") or {}
    assert addr.get("Network") in ("unix", "tcp"), addr
    if addr["Network"] == "unix":
        assert stat.S_ISSOCK(os.stat(addr["String"]).st_mode)


def test_debug_reattach_with_real_terraform(debug_provider, session_root, mirror):
    """Terraform attaches to the debug-mode provider (plaintext, unmanaged)
    and reads its schema."""
    p, reattach, text = debug_provider
    if reattach is None:
        pytest.fail(f"no TF_REATTACH_PROVIDERS line: {text!r}", pytrace=False)
    runner = get_runner("terraform")
    ws = make_workspace(session_root / "reattach", runner, mirror, files={"main.tf": f'''
terraform {{
  required_providers {{
    zerotrust = {{ source = "{PROVIDER_SOURCE}" }}
  }}
}}
'''})
    ws.extra_env["TF_REATTACH_PROVIDERS"] = json.dumps(reattach)
    ws.run("init", "-input=false", "-no-color", check=True)
    r = ws.run("providers", "schema", "-json", check=True)
    schemas = json.loads(r.stdout)["provider_schemas"]
    assert PROVIDER_SOURCE in schemas, list(schemas)
    assert p.poll() is None, "Terraform must not stop a debug (Test: true) provider"
