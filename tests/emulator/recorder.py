"""Request log: every request the emulator answers, as JSON lines.

Each line: {"seq", "ts", "kind" (arm|auth|identity|oidc|control|other), "method", "path",
"query", "api_version", "resource_type", "headers" (Authorization removed), "body",
"status", "error_code", "duration_ms", "validation" ({"errors": [...], "warnings": [...]})}.
Secrets in token requests (client_secret, client_assertion) are replaced by "<redacted>".
"""
from __future__ import annotations

import json
import threading
import time
from urllib.parse import parse_qsl

REDACT_HEADERS = {"authorization", "x-identity-header", "secret", "cookie"}
REDACT_FORM = {"client_secret", "client_assertion", "assertion", "refresh_token", "password"}


class Recorder:
    def __init__(self, path=None, keep: int = 200000):
        self.path = path
        self.keep = keep
        self._lock = threading.Lock()
        self.entries: list = []
        self._seq = 0
        self._fh = open(path, "a", buffering=1) if path else None

    def close(self):
        with self._lock:
            if self._fh:
                self._fh.close()
                self._fh = None

    def clear(self):
        with self._lock:
            self.entries = []

    def record(self, req, resp, kind: str, resource_type=None, validation=None):
        body = None
        if req.body:
            ct = (req.headers.get("Content-Type") or "").lower()
            if "x-www-form-urlencoded" in ct:
                body = {k: ("<redacted>" if k in REDACT_FORM else v)
                        for k, v in parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True)}
            else:
                try:
                    body = json.loads(req.body)
                except (ValueError, UnicodeDecodeError):
                    body = req.body.decode("utf-8", "replace")
        headers = {k: v for k, v in req.headers.items() if k.lower() not in REDACT_HEADERS}
        with self._lock:
            self._seq += 1
            e = {"seq": self._seq, "ts": round(time.time(), 6), "kind": kind, "method": req.method,
                 "path": req.path, "query": req.query, "api_version": req.q("api-version"),
                 "resource_type": resource_type, "headers": headers, "body": body,
                 "status": resp.status if resp.action is None else None,
                 "action": resp.action, "error_code": resp.error_code,
                 "duration_ms": round((time.monotonic() - req.started) * 1000, 3)}
            if validation is not None:
                e["validation"] = {"errors": [i.as_dict() for i in validation.errors],
                                   "warnings": [i.as_dict() for i in validation.warnings]}
            self.entries.append(e)
            if len(self.entries) > self.keep:
                del self.entries[: len(self.entries) - self.keep]
            if self._fh:
                self._fh.write(json.dumps(e, separators=(",", ":")) + "\n")
        return e

    def since(self, seq: int = 0) -> list:
        with self._lock:
            return [e for e in self.entries if e["seq"] > seq]
