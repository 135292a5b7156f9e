"""Fault injection for the sandbox org: the failures a real Salesforce org produces, on demand.

Two ways to make requests fail:

* a **spec string** (``SandboxOrg(faults=...)``, ``set_faults(spec)``, the CLI's
  ``--faults``): comma-separated ``KIND:RATE`` items, RATE being the
  probability that an API request gets that fault, drawn from a RNG seeded with
  the org's seed, so the same spec and the same sequence of requests give the
  same faults. ``limit:N`` sets the daily API request budget and
  ``delay:SECONDS`` how long a ``slow`` response stalls.
  Example: ``"500:0.02,503:0.01,drop:0.01,truncate:0.01,expire:0.005,limit:5000"``.
* **deterministic** faults for tests: ``fail_next(kind, n=1, path_contains=None)``
  makes the next ``n`` matching requests fail with ``kind``.

Kinds: ``500`` / ``503`` (HTTP error with Salesforce's error body), ``drop``
(connection closed without a response), ``truncate`` (half the body sent with
the full Content-Length, then the connection closed), ``expire`` (the request's
session is invalidated: 401 ``INVALID_SESSION_ID`` until a new login), ``slow``
(the response is held back ``delay`` seconds), ``limit`` (one 403
``REQUEST_LIMIT_EXCEEDED``) and ``job_failed`` (deterministic only: the next
Bulk 2.0 query job created ends in state ``Failed``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

#: Kinds a spec may give a rate to, in the order a single random draw is mapped onto them.
RATE_KINDS: tuple[str, ...] = ("500", "503", "drop", "truncate", "expire", "slow")
#: Kinds ``fail_next`` accepts.
DETERMINISTIC_KINDS: tuple[str, ...] = (*RATE_KINDS, "limit", "job_failed")

DEFAULT_DAILY_LIMIT = 100_000
DEFAULT_SLOW_SECONDS = 5.0


class FaultSpecError(ValueError):
    """A fault spec string that cannot be understood; the message says which item and why."""


@dataclass(frozen=True)
class FaultSpec:
    """A parsed spec: per-kind probabilities, the daily request budget and the slow-response delay."""

    rates: dict[str, float] = field(default_factory=dict)
    daily_limit: int = DEFAULT_DAILY_LIMIT
    slow_seconds: float = DEFAULT_SLOW_SECONDS

    def __str__(self) -> str:
        items = [f"{k}:{v:g}" for k, v in self.rates.items()]
        items.append(f"limit:{self.daily_limit}")
        items.append(f"delay:{self.slow_seconds:g}")
        return ",".join(items)


def parse_fault_spec(spec: str | None) -> FaultSpec:
    """Parse ``"500:0.1,drop:0.05,limit:1000"``; an empty spec means no faults and the default budget."""
    rates: dict[str, float] = {}
    daily_limit = DEFAULT_DAILY_LIMIT
    slow_seconds = DEFAULT_SLOW_SECONDS
    for raw_item in (spec or "").split(","):
        item = raw_item.strip()
        if not item:
            continue
        kind, sep, value = item.partition(":")
        kind = kind.strip().lower()
        if not sep:
            raise FaultSpecError(f"fault item {item!r} has no value: write KIND:RATE, e.g. '500:0.1'")
        try:
            number = float(value)
        except ValueError:
            raise FaultSpecError(f"fault item {item!r}: {value!r} is not a number") from None
        if kind == "limit":
            if number < 0 or number != int(number):
                raise FaultSpecError(f"fault item {item!r}: the daily request budget must be a whole number >= 0")
            daily_limit = int(number)
        elif kind == "delay":
            if number < 0:
                raise FaultSpecError(f"fault item {item!r}: the delay must be >= 0 seconds")
            slow_seconds = number
        elif kind in RATE_KINDS:
            if not 0.0 <= number <= 1.0:
                raise FaultSpecError(f"fault item {item!r}: RATE is a probability between 0 and 1")
            rates[kind] = number
        else:
            known = ", ".join([*RATE_KINDS, "limit", "delay"])
            raise FaultSpecError(f"unknown fault kind {kind!r} in {item!r}; known kinds: {known}")
    if sum(rates.values()) > 1.0:
        raise FaultSpecError(f"fault rates add up to {sum(rates.values()):g}, more than 1: {spec!r}")
    return FaultSpec(rates=rates, daily_limit=daily_limit, slow_seconds=slow_seconds)


@dataclass
class _Pending:
    kind: str
    remaining: int
    path_contains: str | None


class FaultInjector:
    """Decides, request by request, which fault (if any) the sandbox org answers with. Thread-safe."""

    def __init__(self, spec: str | FaultSpec = "", seed: int = 42):
        self._lock = threading.Lock()
        self._seed = seed
        self._pending: list[_Pending] = []
        self.spec = FaultSpec()
        self._rng = random.Random(seed)
        self.set_spec(spec)

    def set_spec(self, spec: str | FaultSpec) -> FaultSpec:
        """Replace the random faults (and budget/delay); restarts the seeded draw sequence."""
        parsed = spec if isinstance(spec, FaultSpec) else parse_fault_spec(spec)
        with self._lock:
            self.spec = parsed
            self._rng = random.Random(self._seed)
        return parsed

    def fail_next(self, kind: str, n: int = 1, path_contains: str | None = None) -> None:
        """Make the next ``n`` requests whose path contains ``path_contains`` fail with ``kind``.

        Without ``path_contains`` only REST/Bulk API requests (``/services/data/vXX.X/...``) match,
        not logins; give e.g. ``path_contains="/services/Soap/"`` to fail a login.
        """
        kind = str(kind).lower()
        if kind not in DETERMINISTIC_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known kinds: {', '.join(DETERMINISTIC_KINDS)}")
        if n < 1:
            raise ValueError(f"fail_next needs n >= 1, got {n}")
        with self._lock:
            self._pending.append(_Pending(kind, n, path_contains))

    def clear(self) -> None:
        """Drop pending deterministic faults and random rates (the budget and delay stay)."""
        with self._lock:
            self._pending.clear()
            self.spec = FaultSpec(daily_limit=self.spec.daily_limit, slow_seconds=self.spec.slow_seconds)

    def take_job_failure(self) -> bool:
        """True (once per ``fail_next("job_failed")``) if the Bulk job being created must fail."""
        with self._lock:
            for p in self._pending:
                if p.kind == "job_failed":
                    self._consume(p)
                    return True
        return False

    def draw(self, path: str, is_api: bool) -> str | None:
        """The fault for one request: a pending deterministic one first, else a seeded random draw."""
        with self._lock:
            for p in self._pending:
                if p.kind == "job_failed":
                    continue
                if (p.path_contains is None and is_api) or (p.path_contains is not None and p.path_contains in path):
                    self._consume(p)
                    return p.kind
            if not is_api or not self.spec.rates:
                return None
            # One uniform draw per API request, mapped onto the kinds' cumulative rates, keeps the
            # sequence reproducible whatever the mix of kinds.
            u = self._rng.random()
            edge = 0.0
            for kind in RATE_KINDS:
                edge += self.spec.rates.get(kind, 0.0)
                if u < edge:
                    return kind
            return None

    def _consume(self, p: _Pending) -> None:
        p.remaining -= 1
        if p.remaining <= 0:
            self._pending.remove(p)
