"""Fault injection, driven by the test through POST /__emulator/faults.

A rule: {"method": "PUT"|"*", "path_regex": "...", "kind": ..., "count": 1, "after": 0, ...params}
It matches requests whose method equals ``method`` (or any for "*") and whose
path (no query string) matches ``path_regex`` (re.search, case-insensitive).
The first ``after`` matches pass untouched; the rule then fires ``count`` times
(null = every time) and is spent.

Kinds and their parameters:
  429           429 TooManyRequests, Retry-After: retry_after (s, default 1)
  500           500 InternalServerError
  503           503 ServiceUnavailable, Retry-After: retry_after
  conflict      409 AnotherOperationInProgress
  error         any status/code/message: {"status": 400, "code": "...", "message": "..."}, optionally
                ``target``, ``details`` (list of error objects) and ``additionalInfo`` (list of
                {"type", "info"}), as ARM's error envelope carries them
  reset         close the connection without an answer (TCP RST)
  hang          hold the request ``seconds`` (default 60) and then close the connection without an answer
  latency       wait ``seconds`` and then handle the request normally
  async_failed  the LRO the request starts ends Failed with {code, message} (status on the Location URL:
                ``status``, default 400); a synchronous type answers the error directly
  raw           answer exactly: status, headers (values sent as Latin-1 bytes, so a header may hold
                any byte), body bytes from body_b64 (base64); no ARM headers are added. What a proxy or a
                broken front end in the path answers (e.g. a 400 HTML page in ISO-8859-1).
  lost_answer   handle the request normally (the resource is written, the LRO starts), then reset the
                connection instead of answering: the client cannot know its request took effect.
  propagation   role assignments for a principal created less than ``seconds`` ago fail with 400
                PrincipalNotFound (Entra replication delay); count defaults to unlimited.
                ``honor_principal_type``: true -> skipped when the body sets principalType.
"""
from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from dataclasses import dataclass, field

from .protocol import ArmError, Request, Response, new_guid

TRANSPORT_KINDS = {"429", "500", "503", "conflict", "error", "reset", "hang", "latency", "raw", "lost_answer"}
KINDS = TRANSPORT_KINDS | {"async_failed", "propagation"}


@dataclass
class FaultRule:
    id: str
    kind: str
    method: str = "*"
    path_regex: str = ".*"
    count: int | None = 1
    after: int = 0
    params: dict = field(default_factory=dict)
    matched: int = 0
    fired: int = 0

    def __post_init__(self):
        self._rx = re.compile(self.path_regex, re.I)

    def matches(self, req: Request) -> bool:
        return (self.method == "*" or self.method.upper() == req.method.upper()) and bool(self._rx.search(req.path))

    @property
    def spent(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def as_dict(self):
        return {"id": self.id, "kind": self.kind, "method": self.method, "path_regex": self.path_regex,
                "count": self.count, "after": self.after, "matched": self.matched, "fired": self.fired,
                **self.params}


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []

    def clear(self):
        with self._lock:
            self.rules = []

    def add(self, spec: dict) -> FaultRule:
        kind = str(spec.get("kind", ""))
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind '{kind}'; one of {sorted(KINDS)}")
        params = {k: v for k, v in spec.items() if k not in ("kind", "method", "path_regex", "count", "after", "id")}
        if kind == "raw":
            check_raw(params)
        if kind == "error":
            check_error_envelope(params)
        count = spec.get("count", None if kind == "propagation" else 1)
        if count is not None:
            count = int(count)
            if count < 0:
                count = None
        rule = FaultRule(id=spec.get("id") or new_guid(), kind=kind, method=str(spec.get("method", "*")),
                         path_regex=str(spec.get("path_regex", ".*")), count=count, after=int(spec.get("after", 0)),
                         params=params)
        with self._lock:
            self.rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            n = len(self.rules)
            self.rules = [r for r in self.rules if r.id != rule_id]
            return len(self.rules) != n

    def list(self) -> list:
        with self._lock:
            return [r.as_dict() for r in self.rules]

    def _take(self, req: Request, kinds) -> FaultRule | None:
        with self._lock:
            for r in self.rules:
                if r.kind not in kinds or r.spent or not r.matches(req):
                    continue
                r.matched += 1
                if r.matched <= r.after:
                    continue
                r.fired += 1
                return r
        return None

    # -- hooks used by the app ---------------------------------------------------------------------
    def transport(self, req: Request) -> FaultRule | None:
        return self._take(req, TRANSPORT_KINDS)

    def take_async_failure(self, req: Request) -> dict | None:
        r = self._take(req, {"async_failed"})
        if not r:
            return None
        return {"code": r.params.get("code", "InternalServerError"),
                "message": r.params.get("message", "The operation failed (injected by the emulator)."),
                "status": int(r.params.get("status", 400))}

    def propagation(self, req: Request, principal, principal_type: str | None) -> bool:
        with self._lock:
            for r in self.rules:
                if r.kind != "propagation" or r.spent or not r.matches(req):
                    continue
                if r.params.get("honor_principal_type") and principal_type:
                    continue
                if principal.created + float(r.params.get("seconds", 30)) > time.time():
                    r.matched += 1
                    if r.matched <= r.after:
                        continue
                    r.fired += 1
                    return True
        return False


def check_raw(params: dict) -> None:
    """A raw rule's parameters, refused at once when they cannot be sent."""
    try:
        base64.b64decode(str(params.get("body_b64", "")), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"raw: body_b64 is not base64: {e}")
    for k, v in (params.get("headers") or {}).items():
        try:
            f"{k}: {v}".encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"raw: header {k!r} does not fit in Latin-1 bytes")
    int(params.get("status", 400))


def raw_response(rule: FaultRule) -> Response:
    """Exactly the bytes the rule gives; the app adds no ARM headers to it."""
    p = rule.params
    r = Response(int(p.get("status", 400)), base64.b64decode(str(p.get("body_b64", ""))), raw=True,
                 error_code="fault:raw")
    for k, v in (p.get("headers") or {}).items():
        r.headers[k] = str(v)
    return r


def lose_answer(resp: Response) -> Response:
    """The request was handled (resp is what it produced); the client gets a reset instead."""
    resp.action = "reset"
    resp.error_code = "fault:lost_answer"
    return resp


def check_error_envelope(p: dict):
    """ARM's error object: details are error objects, additionalInfo entries are {type, info}."""
    if p.get("target") is not None and not isinstance(p["target"], str):
        raise ValueError("'target' must be a string")
    details = p.get("details")
    if details is not None and not (isinstance(details, list) and all(
            isinstance(d, dict) and isinstance(d.get("code"), str) and isinstance(d.get("message"), str)
            for d in details)):
        raise ValueError("'details' must be a list of {code, message, target?, details?} objects")
    info = p.get("additionalInfo")
    if info is not None and not (isinstance(info, list) and all(
            isinstance(i, dict) and isinstance(i.get("type"), str) and "info" in i for i in info)):
        raise ValueError("'additionalInfo' must be a list of {type, info} objects")


def transport_response(rule: FaultRule) -> Response | None:
    """The response a transport fault produces; None for 'latency' and 'lost_answer' (handled by the
    caller: the request goes through)."""
    p = rule.params
    k = rule.kind
    if k == "raw":
        return raw_response(rule)
    if k == "reset":
        return Response(action="reset", error_code="fault:reset")
    if k == "hang":
        return Response(action="hang", hang_seconds=float(p.get("seconds", 60)), error_code="fault:hang")
    if k == "429":
        ra = str(p.get("retry_after", 1))
        return ArmError(429, p.get("code", "TooManyRequests"),
                        p.get("message", "The request is being throttled as the limit has been reached for operation "
                                         "type. Please try again after the time specified in the Retry-After header."),
                        headers={"Retry-After": ra}).response()
    if k == "500":
        return ArmError(500, p.get("code", "InternalServerError"),
                        p.get("message", "Encountered internal server error. Diagnostic information: injected by the "
                                         "emulator.")).response()
    if k == "503":
        return ArmError(503, p.get("code", "ServiceUnavailable"),
                        p.get("message", "The service is temporarily unavailable. Please retry."),
                        headers={"Retry-After": str(p.get("retry_after", 1))}).response()
    if k == "conflict":
        return ArmError(409, "AnotherOperationInProgress",
                        p.get("message", "Another operation on this or dependent resource is in progress. (injected)"),
                        ).response()
    if k == "error":
        return ArmError(int(p.get("status", 400)), p.get("code", "BadRequest"),
                        p.get("message", "Injected error."), target=p.get("target"), details=p.get("details"),
                        additional_info=p.get("additionalInfo"), headers=p.get("headers") or {}).response()
    return None
