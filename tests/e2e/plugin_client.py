"""The launch side of go-plugin, for tests that check the provider's start-up
contract directly (tests/e2e/test_host.py; bench/startup.py has its own
copy so it can run alone): AutoMTLS certificates as Terraform makes them,
starting the binary with go-plugin's environment, parsing the handshake
line, and raw TLS / HTTP/2 probes of the listener.
"""
from __future__ import annotations

import base64
import datetime
import os
import re
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from e2e_support import plugin_env, read_line_with_timeout

HANDSHAKE_RE = re.compile(r"^1\|(?P<app>\d+)\|(?P<net>unix|tcp)\|(?P<addr>[^|]+)\|grpc(\|(?P<cert>[^|]*))?$")
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


@dataclass
class CertPair:
    cert_pem: bytes
    key_pem: bytes
    cert_path: Path
    key_path: Path


def make_autotls_cert(d: Path, name: str = "client", curve=ec.SECP521R1()) -> CertPair:
    """A certificate like go-plugin's generateCert(): ECDSA P-521, CN and SAN
    localhost, O=HashiCorp, CA, both EKUs, valid from now-30s for ~30 years."""
    key = ec.generate_private_key(curve)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(seconds=30))
            .not_valid_after(now + datetime.timedelta(hours=262980))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=True, data_encipherment=False,
                                         key_agreement=True, key_cert_sign=True, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                                                  ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA512()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    d.mkdir(parents=True, exist_ok=True)
    cp, kp = d / f"{name}.crt", d / f"{name}.key"
    cp.write_bytes(cert_pem)
    kp.write_bytes(key_pem)
    kp.chmod(0o600)
    return CertPair(cert_pem, key_pem, cp, kp)


@dataclass
class Launched:
    proc: subprocess.Popen
    line: str              # the first stdout line, without the newline
    seconds: float         # exec -> handshake line
    match: re.Match | None

    @property
    def network(self) -> str:
        return self.match.group("net")

    @property
    def address(self) -> str:
        return self.match.group("addr")

    @property
    def server_cert_der(self) -> bytes | None:
        c = self.match.group("cert")
        if not c:
            return None
        return base64.b64decode(c + "=" * (-len(c) % 4), validate=True)

    @property
    def server_cert_pem(self) -> bytes:
        return ssl.DER_cert_to_PEM_cert(self.server_cert_der).encode()


def launch(binary: Path, env_extra: dict | None = None, *, cookie=True, args=(),
           cwd: Path | None = None, timeout: float = 10.0) -> Launched:
    env = plugin_env(env_extra, cookie=cookie)
    t0 = time.perf_counter()
    p = subprocess.Popen([str(binary), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=cwd)
    line = read_line_with_timeout(p, timeout)
    dt = time.perf_counter() - t0
    line = line.rstrip("\n")
    return Launched(p, line, dt, HANDSHAKE_RE.match(line.strip()))


def connect_raw(l: Launched) -> socket.socket:
    if l.network == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(l.address)
    else:
        host, port = l.address.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=5)
    return s


def tls_probe(l: Launched, client: CertPair | None, *, max_version=None) -> tuple[bool, str, str | None]:
    """TLS-connect as Terraform would (trusting only the handshake cert,
    ServerName localhost, ALPN h2), optionally presenting a client cert;
    then speak the HTTP/2 preface. (accepted, detail, alpn)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if max_version:
        ctx.maximum_version = max_version
    ctx.load_verify_locations(cadata=l.server_cert_pem.decode())
    ctx.check_hostname = True
    ctx.set_alpn_protocols(["h2"])
    if client:
        ctx.load_cert_chain(str(client.cert_path), str(client.key_path))
    raw = connect_raw(l)
    alpn = None
    try:
        ss = ctx.wrap_socket(raw, server_hostname="localhost")
        alpn = ss.selected_alpn_protocol()
        ss.sendall(H2_PREFACE + H2_EMPTY_SETTINGS)
        hdr = _recv_exact(ss, 9)
        if len(hdr) == 9 and hdr[3] == 0x04:
            return True, "server sent an HTTP/2 SETTINGS frame", alpn
        return False, f"connection closed / no SETTINGS (got {hdr!r})", alpn
    except ssl.SSLError as exc:
        return False, f"TLS error: {exc}", alpn
    except (ConnectionError, BrokenPipeError, socket.timeout, OSError) as exc:
        return False, f"{type(exc).__name__}: {exc}", alpn
    finally:
        raw.close()


def plaintext_h2_probe(l: Launched) -> tuple[bool, str]:
    s = connect_raw(l)
    try:
        s.sendall(H2_PREFACE + H2_EMPTY_SETTINGS)
        hdr = _recv_exact(s, 9)
        if len(hdr) == 9 and hdr[3] == 0x04:
            return True, "SETTINGS"
        return False, f"got {hdr!r}"
    except OSError as exc:
        return False, str(exc)
    finally:
        s.close()


def _recv_exact(s, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


# --------------------------------------------------------------------------
# gRPC stubs generated at run time from proto/ (grpcio-tools)
# --------------------------------------------------------------------------

_STUBS = None


def grpc_stubs(proto_dir: Path):
    """(tfplugin6_pb2, tfplugin6_pb2_grpc, plugin_pb2, plugin_pb2_grpc)"""
    global _STUBS
    if _STUBS is None:
        import importlib
        import sys

        from grpc_tools import protoc
        import grpc_tools
        out = Path(tempfile.mkdtemp(prefix="zt-stubs-"))
        wkt = Path(grpc_tools.__file__).parent / "_proto"
        for proto in ("tfplugin6.proto", "plugin.proto"):
            rc = protoc.main(["protoc", f"-I{proto_dir}", f"-I{wkt}", f"--python_out={out}",
                              f"--grpc_python_out={out}", str(proto_dir / proto)])
            if rc != 0:
                raise RuntimeError(f"protoc failed on {proto}")
        sys.path.insert(0, str(out))
        _STUBS = tuple(importlib.import_module(m) for m in
                       ("tfplugin6_pb2", "tfplugin6_pb2_grpc", "plugin_pb2", "plugin_pb2_grpc"))
    return _STUBS


class TLSRelay:
    """A plaintext unix socket that forwards each connection over mutual TLS
    to the provider (Python's OpenSSL), so grpcio can talk to any go-plugin
    server: grpcio's BoringSSL does not offer the ecdsa_secp521r1_sha512
    signature go-plugin's P-521 certificates need (the Go server answers its
    ClientHello with handshake_failure). Terraform's Go client has no such
    problem; the relay is only a test/bench device, used for every provider
    alike."""

    def __init__(self, l: Launched, client: CertPair, workdir: Path):
        import threading
        self.l, self.client = l, client
        self.path = str(workdir / f"relay-{os.getpid()}-{id(self) & 0xffff}.sock")
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(4)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_verify_locations(cadata=l.server_cert_pem.decode())
        self.ctx.set_alpn_protocols(["h2"])
        self.ctx.load_cert_chain(str(client.cert_path), str(client.key_path))
        self.closed = False
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def _accept(self):
        import threading
        while not self.closed:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._pump, args=(c,), daemon=True).start()

    def _pump(self, c):
        import selectors
        try:
            raw = connect_raw(self.l)
            raw.settimeout(None)
            up = self.ctx.wrap_socket(raw, server_hostname="localhost")
        except OSError:
            c.close()
            return
        sel = selectors.DefaultSelector()
        sel.register(c, selectors.EVENT_READ, up)
        sel.register(up, selectors.EVENT_READ, c)
        try:
            while True:
                for key, _ in sel.select():
                    src, dst = key.fileobj, key.data
                    try:
                        data = src.recv(65536)
                    except ssl.SSLWantReadError:
                        continue
                    if not data:
                        return
                    dst.sendall(data)
                # SSL may hold decrypted bytes that select() cannot see
                while up.pending():
                    c.sendall(up.recv(up.pending()))
        except OSError:
            return
        finally:
            sel.close()
            for s in (c, up):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.closed = True
        try:
            self.srv.close()
        finally:
            try:
                os.unlink(self.path)
            except OSError:
                pass


def grpc_channel(l: Launched, client: CertPair | None, relay_dir: Path | None = None):
    """A grpcio channel to the provider: plaintext when the provider serves
    plaintext, else through a TLSRelay (in relay_dir; see above).
    Returns (channel, relay or None)."""
    import grpc
    opts = [("grpc.max_receive_message_length", 256 << 20),
            ("grpc.default_authority", "localhost")]
    if l.server_cert_der is None:
        target = f"unix:{l.address}" if l.network == "unix" else l.address
        return grpc.insecure_channel(target, options=opts), None
    relay = TLSRelay(l, client, relay_dir or Path(tempfile.gettempdir()))
    return grpc.insecure_channel(f"unix:{relay.path}", options=opts), relay
