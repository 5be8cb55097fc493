"""The default executor: evaluations as local processes, at most ``slots`` at once."""

from __future__ import annotations

import asyncio

from ..evaluation import EvalResult, Evaluator


class LocalExecutor:
    def __init__(self, evaluator: Evaluator, *, slots: int):
        self.evaluator = evaluator
        self.slots = slots
        self._limit = asyncio.Semaphore(slots)

    async def run(self, code: str) -> EvalResult:
        async with self._limit:
            return await self.evaluator.evaluate(code)

    async def fingerprint(self, code: str) -> str | EvalResult:
        async with self._limit:
            return await self.evaluator.fingerprint(code)

    async def close(self) -> None:
        await self.evaluator.close()
