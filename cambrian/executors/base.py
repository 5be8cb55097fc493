"""Where evaluations run. The runner hands an executor code and awaits a result;
whether it ran in a local process or on another machine is the executor's business."""

from __future__ import annotations

from typing import Protocol

from ..evaluation import EvalResult


class Executor(Protocol):
    slots: int

    async def run(self, code: str) -> EvalResult: ...

    async def fingerprint(self, code: str) -> str | EvalResult: ...

    async def close(self) -> None: ...
