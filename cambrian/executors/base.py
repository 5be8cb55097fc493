"""Where evaluations run. The runner hands an executor code and awaits a result;
whether it ran in a local process or on another machine is the executor's business."""

from __future__ import annotations

import time
from typing import Any, Protocol

from ..evaluation import EvalResult

EXECUTOR_KEY = "executor"   # store meta: what ran the evaluations, and how many were in flight


class Executor(Protocol):
    slots: int

    async def run(self, code: str) -> EvalResult: ...

    async def fingerprint(self, code: str) -> str | EvalResult: ...

    def describe(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class InFlight:
    """Evaluations in flight: the count now, its maximum and its time-weighted mean
    (from the first evaluation to the last), recorded with the run."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.now = self.max = 0
        self.evaluations = 0
        self._area = 0.0
        self._since: float | None = None
        self._first: float | None = None

    def _advance(self) -> None:
        t = self.clock()
        if self._since is not None:
            self._area += self.now * (t - self._since)
        self._since = t
        if self._first is None:
            self._first = t

    def enter(self) -> None:
        self._advance()
        self.now += 1
        self.evaluations += 1
        self.max = max(self.max, self.now)

    def leave(self) -> None:
        self._advance()
        self.now -= 1

    @property
    def mean(self) -> float:
        span = (self._since or 0.0) - (self._first or 0.0)
        return self._area / span if span > 0 else float(self.now)

    def describe(self) -> dict[str, Any]:
        return {"in_flight_max": self.max, "in_flight_mean": round(self.mean, 2), "evaluations": self.evaluations}
