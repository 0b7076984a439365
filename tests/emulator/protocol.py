"""Transport-neutral request/response objects and ARM's error envelope."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qsl


class Headers:
    """Case-insensitive header map keeping the original casing."""

    def __init__(self, items=None):
        self._d: dict[str, tuple[str, str]] = {}
        for k, v in (items or []):
            self[k] = v

    def __setitem__(self, k, v):
        self._d[k.lower()] = (k, str(v))

    def __getitem__(self, k):
        return self._d[k.lower()][1]

    def __contains__(self, k):
        return k.lower() in self._d

    def __delitem__(self, k):
        self._d.pop(k.lower(), None)

    def get(self, k, default=None):
        v = self._d.get(k.lower())
        return v[1] if v else default

    def items(self):
        return list(self._d.values())

    def as_dict(self):
        return {k: v for k, v in self._d.values()}


@dataclass
class Request:
    method: str
    path: str                      # without the query string, not decoded
    query: dict                    # first value of each key; key case as sent
    headers: Headers
    body: bytes = b""
    client: str = ""
    base_url: str = ""             # scheme://host:port as the client reached us
    raw_query: str = ""
    json: object = None            # parsed body for JSON requests
    started: float = 0.0           # time.monotonic() at arrival
    validation: object = None      # validator.Result of the body, when validated
    delay_after: float = 0.0       # hold the answer this long (synchronous writes that take time)
    generation: int | None = None  # the emulator's reset generation at arrival (app.Emulator.reset)

    def q(self, name, default=None):
        """Case-insensitive query parameter."""
        for k, v in self.query.items():
            if k.lower() == name.lower():
                return v
        return default

    @staticmethod
    def parse_query(qs: str) -> dict:
        out = {}
        for k, v in parse_qsl(qs, keep_blank_values=True):
            out.setdefault(k, v)
        return out


@dataclass
class Response:
    status: int = 200
    body: object = None            # dict/list -> JSON; bytes/str -> as is; None -> empty
    headers: Headers = field(default_factory=Headers)
    # transport actions for faults
    action: str | None = None      # 'reset' | 'hang'
    hang_seconds: float = 0.0
    error_code: str | None = None  # recorded
    raw: bool = False              # sent as it is: no ARM headers added (fault kind 'raw')

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


class ArmError(Exception):
    """Raised anywhere in request handling; becomes ARM's error envelope."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None,
                 details: list | None = None, headers: dict | None = None, body: dict | None = None,
                 additional_info: list | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.additional_info = additional_info
        self.headers = headers or {}
        self.body = body

    def envelope(self) -> dict:
        if self.body is not None:
            return self.body
        err = {"code": self.code, "message": self.message}
        if self.target:
            err["target"] = self.target
        if self.details:
            err["details"] = self.details
        if self.additional_info:
            err["additionalInfo"] = self.additional_info
        return {"error": err}

    def response(self) -> Response:
        r = Response(self.status, self.envelope())
        for k, v in self.headers.items():
            r.headers[k] = v
        r.error_code = self.code
        return r


def new_guid() -> str:
    return str(uuid.uuid4())


def json_response(status: int, body, headers: dict | None = None) -> Response:
    r = Response(status, body)
    for k, v in (headers or {}).items():
        r.headers[k] = v
    return r
