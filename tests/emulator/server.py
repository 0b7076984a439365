"""HTTPS front end of the ARM emulator.

    python3 -m tests.emulator [--port 0] [--state-dir DIR] [--time-scale 0.001] ...
    python3 tests/emulator/server.py --port 0 --state-dir DIR

Prints one JSON line with the URL, CA path and credentials, and writes the same to
DIR/emulator.json (plus DIR/url and DIR/ca.pem). SIGTERM/SIGINT shut it down cleanly.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    __package__ = "tests.emulator"     # noqa: A001

from . import certs  # noqa: E402
from .app import Emulator  # noqa: E402
from .config import (AZURE_DATABRICKS_APP_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Config,  # noqa: E402
                     first_party_object_id, now)
from .protocol import Headers, Request  # noqa: E402
from .specs import SpecLibrary  # noqa: E402


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ARM-Emulator/1.0"
    sys_version = ""
    timeout = 300      # idle keep-alive connections are closed after this

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = b""
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self):
        started = now()
        generation = self.server.app.generation
        path, _, qs = self.path.partition("?")
        if path.startswith("http://") or path.startswith("https://"):   # absolute-form
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        body = self._read_body()
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        scheme = "https" if self.server.tls else "http"
        req = Request(method=self.command, path=path, query=Request.parse_query(qs), raw_query=qs,
                      headers=Headers(self.headers.items()), body=body, client=self.client_address[0],
                      base_url=f"{scheme}://{host}", started=started, generation=generation)
        app: Emulator = self.server.app
        resp = app.handle(req, plain_listener=not self.server.tls)
        if resp.action == "hang":
            app.shutdown_event.wait(resp.hang_seconds)
            self._abort()
            return
        if resp.action == "reset":
            self._abort()
            return
        data = resp.encoded()
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if self.command != "HEAD" or "Content-Length" not in resp.headers:
            self.send_header("Content-Length", str(len(data)))
        self._headers_buffer.append(b"\r\n")        # end of headers; body in the same write
        if self.command != "HEAD" and data:
            self._headers_buffer.append(data)
        self.flush_headers()

    def _abort(self):
        """Close the connection without an answer (TCP RST)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, addr, app: Emulator, ssl_ctx: ssl.SSLContext | None, verbose=False):
        self.app = app
        self.ssl_ctx = ssl_ctx
        self.tls = ssl_ctx is not None
        self.verbose = verbose
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, Handler)

    def close_connections(self):
        """Wake every handler blocked on a keep-alive connection so its thread ends."""
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a slow client cannot stall accept().
        conn = request
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        with self.conns_lock:
            self.conns.add(request)
        if self.ssl_ctx is not None:
            request.settimeout(15)
            try:
                conn = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                with self.conns_lock:
                    self.conns.discard(request)
                try:
                    request.close()
                except OSError:
                    pass
                return
            with self.conns_lock:
                self.conns.discard(request)
                self.conns.add(conn)
            conn.settimeout(None)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            with self.conns_lock:
                self.conns.discard(request)
                self.conns.discard(conn)
            if conn is not request:
                try:
                    conn.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


class PortInUse(OSError):
    pass


def _listen(host: str, port: int, ssl_ctx, verbose: bool, what: str) -> Server:
    try:
        return Server((host, port), None, ssl_ctx, verbose)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise PortInUse(e.errno, f"the {what} port {host}:{port} is in use by another program "
                                     f"(give another one, or 0 for a free one)") from None
        raise


class EmulatorServer:
    """Owns the listeners; usable in-process (tests) or from main()."""

    def __init__(self, *, host="127.0.0.1", port=0, http_port=0, state_dir=None, config: Config | None = None,
                 specs_dir=None, log_path=None, verbose=False):
        t0 = time.monotonic()
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="arm-emulator-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        pki = certs.make_pki(self.state_dir)
        log_path = log_path or str(self.state_dir / "requests.jsonl")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(pki["cert"], pki["key"])
        ctx.set_alpn_protocols(["http/1.1"])
        # The ports first: the emulator starts key-generation threads, and a busy port must
        # end the process with its message before any of them runs.
        self.https = _listen(host, port, ctx, verbose, "HTTPS")
        try:
            self.http = _listen(host, http_port, None, verbose, "HTTP") \
                if http_port is not None and http_port >= 0 else None
        except OSError:
            self.https.server_close()
            raise
        lib = SpecLibrary(specs_dir) if specs_dir else None
        self.app = Emulator(config or Config(), lib=lib, log_path=log_path)
        for srv in (self.https, self.http):
            if srv is not None:
                srv.app = self.app
        h, p = self.https.server_address[:2]
        self.url = f"https://{h}:{p}"
        self.app.default_base_url = self.url
        self.app.auth.base_url = self.url
        c = self.app.config
        gh = self.app.auth.issuer_info(self.app.auth.issuers["github"], self.url)
        self.info = {
            "url": self.url, "port": p, "host": h,
            "ca_cert": pki["ca"], "ca_path": pki["ca"],
            "tenant_id": c.tenant_id, "subscription_id": c.subscription_id,
            "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
            "authority": self.url, "token_endpoint": f"{self.url}/{c.tenant_id}/oauth2/v2.0/token",
            "metadata_url": f"{self.url}/metadata/endpoints?api-version=2022-09-01",
            "request_log": log_path, "state_dir": str(self.state_dir), "pid": os.getpid(),
            "time_scale": c.time_scale,
            "github_oidc": {"issuer": gh["issuer"], "request_url": gh["request_url"],
                            "request_token": gh["request_token"]},
            "identity_header": self.app.auth.identity_header,
            "control_url": f"{self.url}/__emulator",
            "first_party": {"AzureDatabricks": {"client_id": AZURE_DATABRICKS_APP_ID, "object_id":
                                                first_party_object_id(c.tenant_id, AZURE_DATABRICKS_APP_ID)}},
        }
        if self.http is not None:
            hh, hp = self.http.server_address[:2]
            self.info.update({"http_url": f"http://{hh}:{hp}", "imds_endpoint": f"http://{hh}:{hp}",
                              "identity_endpoint": f"http://{hh}:{hp}/MSI/token"})
        self.app.state = self.info
        self.startup_seconds = time.monotonic() - t0
        self._threads = []

    def start(self):
        for srv in (self.https, self.http):
            if srv is None:
                continue
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
            t.start()
            self._threads.append(t)
        (self.state_dir / "url").write_text(self.url + "\n")
        tmp = self.state_dir / "emulator.json.tmp"
        tmp.write_text(json.dumps(self.info, indent=2))
        tmp.replace(self.state_dir / "emulator.json")
        return self

    def stop(self):
        self.app.shutdown_event.set()
        for srv in (self.https, self.http):
            if srv is not None:
                srv.shutdown()
                srv.server_close()
                srv.close_connections()
        for t in self._threads:
            t.join(timeout=5)
        # let a background key generation (native code) finish before the interpreter goes away
        for iss in list(self.app.auth.issuers.values()):
            iss._ready.wait(5)
        self.app.recorder.close()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m tests.emulator", description="Local Azure Resource Manager emulator")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="HTTPS port (0: pick a free one)")
    ap.add_argument("--http-port", type=int, default=0,
                    help="plain HTTP port for IMDS / App Service identity endpoints (0: pick, -1: off)")
    ap.add_argument("--state-dir", help="where emulator.json, ca.pem and requests.jsonl go (default: a temp dir)")
    ap.add_argument("--time-scale", type=float, default=0.001, help="wall seconds per emulated Azure second")
    ap.add_argument("--throttling", action="store_true", help="enable ARM token-bucket throttling")
    ap.add_argument("--enum-mode", choices=["strict", "warn", "spec"], default="strict")
    ap.add_argument("--record-only", action="store_true",
                    help="do not reject bodies that break the definitions; only record the violations")
    ap.add_argument("--log", help="request log (JSON lines); default STATE_DIR/requests.jsonl")
    ap.add_argument("--specs-dir", help="bicep-types folder with MANIFEST.md (default: third_party/azure-specs)")
    ap.add_argument("--tenant", default=None)
    ap.add_argument("--subscription", default=None)
    ap.add_argument("--token-lifetime", type=int, default=3600)
    ap.add_argument("--page-size", type=int, default=100)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    cfg = Config(time_scale=a.time_scale, throttling_enabled=a.throttling, enum_mode=a.enum_mode,
                 validate_bodies=not a.record_only, token_lifetime=a.token_lifetime, page_size=a.page_size)
    if a.tenant:
        cfg.tenant_id = a.tenant
    if a.subscription:
        cfg.subscription_id = a.subscription
    try:
        srv = EmulatorServer(host=a.host, port=a.port, http_port=a.http_port, state_dir=a.state_dir,
                             config=cfg, specs_dir=a.specs_dir, log_path=a.log, verbose=a.verbose)
    except PortInUse as e:
        print(f"emulator: {e.strerror}", file=sys.stderr)
        return 2
    srv.start()
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(json.dumps(srv.info), flush=True)
    if a.verbose:
        print(f"started in {srv.startup_seconds:.3f}s", file=sys.stderr, flush=True)
    while not stop.wait(0.2):
        pass
    srv.stop()
    sys.stdout.flush()
    sys.stderr.flush()
    # Connection threads are daemons; skip interpreter finalisation so none of them is torn down
    # half-way through native code (cryptography, ssl).
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
