"""The default executor: evaluations as local processes, at most ``slots`` at once."""

from __future__ import annotations

import asyncio
from typing import Any

from ..evaluation import EvalResult, Evaluator
from .base import InFlight


class LocalExecutor:
    def __init__(self, evaluator: Evaluator, *, slots: int):
        self.evaluator = evaluator
        self.slots = slots
        self._limit = asyncio.Semaphore(slots)
        self.in_flight = InFlight()

    async def run(self, code: str) -> EvalResult:
        async with self._limit:
            self.in_flight.enter()
            try:
                return await self.evaluator.evaluate(code)
            finally:
                self.in_flight.leave()

    async def fingerprint(self, code: str) -> str | EvalResult:
        async with self._limit:
            return await self.evaluator.fingerprint(code)

    def describe(self) -> dict[str, Any]:
        return {"kind": "local", "slots": self.slots, **self.in_flight.describe()}

    async def close(self) -> None:
        await self.evaluator.close()
