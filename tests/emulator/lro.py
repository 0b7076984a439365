"""Long-running operations and the per-resource 'operation in progress' locks.

An ``Operation`` ends at a wall-clock deadline (emulated duration x time scale).
Nothing runs in the background: ``OperationTable.tick()`` is called at the
start of every request and completes what is due, in deadline order, calling the
operation's completion callback with the store lock held.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from .config import now, utc_iso
from .protocol import new_guid

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
CANCELED = "Canceled"


@dataclass
class Operation:
    id: str
    kind: str                     # 'put' | 'patch' | 'delete' | 'purge' | 'rgdelete'
    resource_id: str
    namespace: str
    location: str
    subscription: str
    api_version: str
    started: float                # monotonic
    deadline: float               # monotonic
    started_wall: str
    poll_interval: float = 10.0   # Azure seconds (scaled into Retry-After)
    status: str = IN_PROGRESS
    error: dict | None = None     # {"code","message"} when Failed
    fail_status: int = 400        # HTTP status on the Location URL when Failed
    ended_wall: str | None = None
    on_done: object = None        # callable(op) run once at completion (store lock held)
    domains: list = field(default_factory=list)  # lock keys held while in progress
    name_hint: str = ""           # e.g. PutSubnetOperation, used in conflict messages
    # what the Location URL answers after success
    final_get: str | None = None  # resource ID to render (PUT) or None (DELETE -> 204)
    # where the status and result monitors live when not at the subscription's locations/{l}/operations:
    # (scope ID, status type, result type), e.g. private DNS's resource-group privateDnsOperationStatuses
    monitor: tuple | None = None

    @property
    def done(self) -> bool:
        return self.status != IN_PROGRESS

    def status_body(self) -> dict:
        b = {"id": self.status_path(), "name": self.id, "status": self.status, "startTime": self.started_wall}
        if self.ended_wall:
            b["endTime"] = self.ended_wall
        if self.status == IN_PROGRESS:
            b["percentComplete"] = 0.0
        else:
            b["percentComplete"] = 100.0
        if self.error:
            b["error"] = self.error
        return b

    def status_path(self) -> str:
        if self.monitor:
            return f"{self.monitor[0]}/providers/{self.namespace}/{self.monitor[1]}/{self.id}"
        return (f"/subscriptions/{self.subscription}/providers/{self.namespace}/locations/{self.location}"
                f"/operations/{self.id}")

    def result_path(self) -> str:
        if self.monitor:
            return f"{self.monitor[0]}/providers/{self.namespace}/{self.monitor[2]}/{self.id}"
        return (f"/subscriptions/{self.subscription}/providers/{self.namespace}/locations/{self.location}"
                f"/operationResults/{self.id}")


class OperationTable:
    def __init__(self):
        self.clear()

    def clear(self):
        self.ops: dict[str, Operation] = {}
        self._heap: list = []
        self._tie = itertools.count()
        self.busy: dict[str, str] = {}    # lower(domain) -> op id

    def start(self, *, kind, resource_id, namespace, location, subscription, api_version,
              duration_wall: float, poll_interval=10.0, on_done=None, domains=(), name_hint="",
              final_get=None, error=None, fail_status=400, monitor=None) -> Operation:
        t = now()
        op = Operation(id=new_guid(), kind=kind, resource_id=resource_id, namespace=namespace,
                       location=location or "global", subscription=subscription, api_version=api_version,
                       started=t, deadline=t + duration_wall, started_wall=utc_iso(),
                       poll_interval=poll_interval, on_done=on_done, domains=[d.lower() for d in domains],
                       name_hint=name_hint, final_get=final_get, error=error, fail_status=fail_status,
                       monitor=monitor)
        self.ops[op.id.lower()] = op
        for d in op.domains:
            self.busy[d] = op.id
        heapq.heappush(self._heap, (op.deadline, next(self._tie), op.id))
        return op

    def get(self, op_id: str) -> Operation | None:
        return self.ops.get(op_id.lower())

    def busy_op(self, domain: str) -> Operation | None:
        oid = self.busy.get(domain.lower())
        if not oid:
            return None
        op = self.ops.get(oid.lower())
        if op is None or op.done:
            self.busy.pop(domain.lower(), None)
            return None
        return op

    def tick(self) -> int:
        """Complete every operation whose deadline has passed. Returns how many."""
        n = 0
        t = now()
        while self._heap and self._heap[0][0] <= t:
            _, _, oid = heapq.heappop(self._heap)
            op = self.ops.get(oid.lower())
            if op is None or op.done:
                continue
            self.finish(op)
            n += 1
        return n

    def finish(self, op: Operation):
        op.status = FAILED if op.error else SUCCEEDED
        op.ended_wall = utc_iso()
        for d in op.domains:
            if self.busy.get(d) == op.id:
                del self.busy[d]
        if op.on_done:
            op.on_done(op)

    def pending(self) -> list[Operation]:
        return [o for o in self.ops.values() if not o.done]
