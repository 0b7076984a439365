"""ARM's token-bucket throttling: a bucket per subscription, principal and operation class.

Reads (GET/HEAD), writes (PUT/PATCH/POST) and deletes (DELETE) draw from their
own bucket; each request takes one token; tokens refill continuously. An empty
bucket answers 429 with Retry-After (time to the next token). Every ARM response
carries the remaining count in x-ms-ratelimit-remaining-subscription-{reads,
writes,deletes} (and the -global- variant, 15x per the docs).
"""
from __future__ import annotations

import math
import threading
import time

from .config import BucketSettings, Config

CLASS_BY_METHOD = {"GET": "reads", "HEAD": "reads", "PUT": "writes", "PATCH": "writes", "POST": "writes",
                   "DELETE": "deletes"}


class Bucket:
    def __init__(self, settings: BucketSettings):
        self.settings = settings
        self.tokens = float(settings.capacity)
        self.stamp = time.monotonic()

    def refill(self):
        t = time.monotonic()
        self.tokens = min(float(self.settings.capacity), self.tokens + (t - self.stamp) * self.settings.refill_per_second)
        self.stamp = t

    def take(self) -> tuple[bool, int, float]:
        self.refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True, int(self.tokens), 0.0
        need = 1 - self.tokens
        rate = self.settings.refill_per_second
        wait = need / rate if rate > 0 else 3600.0
        return False, 0, wait


class Throttle:
    def __init__(self, config: Config):
        self.config = config
        self._lock = threading.Lock()
        self.buckets: dict = {}

    def reset(self):
        with self._lock:
            self.buckets = {}

    def check(self, subscription: str, principal: str, method: str) -> tuple[bool, dict]:
        """(allowed, headers)."""
        cls = CLASS_BY_METHOD.get(method.upper(), "reads")
        settings = self.config.buckets[cls]
        header = f"x-ms-ratelimit-remaining-subscription-{cls}"
        gheader = f"x-ms-ratelimit-remaining-subscription-global-{cls}"
        if not self.config.throttling_enabled:
            return True, {header: str(int(settings.capacity)), gheader: str(int(settings.capacity * 15))}
        key = ((subscription or "").lower(), (principal or "").lower(), cls)
        with self._lock:
            b = self.buckets.get(key)
            if b is None or b.settings is not settings:
                b = self.buckets[key] = Bucket(settings)
            ok, remaining, wait = b.take()
        h = {header: str(remaining), gheader: str(remaining * 15)}
        if not ok:
            h["Retry-After"] = str(max(1, int(math.ceil(wait))))
            h["retry-after-ms"] = str(max(1, int(math.ceil(wait * 1000))))
        return ok, h
