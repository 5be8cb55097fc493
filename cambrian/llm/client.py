"""One model's client: retries with backoff and jitter (honoring Retry-After), a
per-request timeout, a concurrency limit, and a record of every exchange in the
store, which replay answers from."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from typing import Any, Callable

from .budget import CallBudget
from .models import ModelSpec
from .providers import Provider, ProviderError, Reply, make_provider


class LLMFailure(Exception):
    """The model gave no usable reply; the message is the proposal's failure reason."""


class UnusableReply(LLMFailure):
    """A reply arrived but cannot be used (empty, cut off at max_tokens, refused): the
    operator may show the model ``hint`` and ask again."""

    def __init__(self, message: str, *, text: str, hint: str):
        super().__init__(message)
        self.text = text
        self.hint = hint


class LLMClient:
    def __init__(
        self,
        spec: ModelSpec,
        *,
        store: Any,
        request_timeout: float = 120.0,
        retries: int = 4,
        concurrency: int = 4,
        limit: asyncio.Semaphore | None = None,
        replay: Any = None,
        provider_factory: Callable[[ModelSpec], Provider] = make_provider,
        max_backoff: float = 60.0,
        calls: CallBudget | None = None,
    ):
        self.spec = spec
        self.store = store
        self.request_timeout = request_timeout
        self.retries = retries
        self.replay = replay
        self._factory = provider_factory
        self._provider: Provider | None = None
        # Shared by every model of one provider endpoint when given (see session.build_arms).
        self._limit = limit or asyncio.Semaphore(concurrency)
        self.max_backoff = max_backoff
        self.calls = calls

    async def ask(self, messages: list[dict[str, str]], *, seq: int, attempt: int, seed: int,
                  ledger: list[float] | None = None) -> Reply:
        """A usable reply, or ``LLMFailure`` with the reason. The cost of every request
        made (failed ones too) is appended to ``ledger``."""
        ledger = ledger if ledger is not None else []
        if self.replay is not None:
            return self._from_record(self.replay, messages, seq, attempt, ledger)
        own = self.store.recorded_call(seq, attempt)
        if own is not None and not own["error"] and own["request_hash"] == request_hash(messages):
            # Answered before a kill, not yet stored as a candidate: resume reuses it, unpaid.
            return self._from_record(self.store, messages, seq, attempt, ledger)
        if self._provider is None:
            self._provider = self._factory(self.spec)
        jitter = random.Random(seed)
        async with self._limit:
            for k in range(self.retries + 1):
                if self.calls is not None and not self.calls.take(seq):
                    raise LLMFailure(f"{self.spec.label}: max calls ({self.calls.limit}) reached: request not sent")
                try:
                    reply = await asyncio.wait_for(
                        self._provider.complete(messages, spec=self.spec, seed=seed, timeout=self.request_timeout),
                        self.request_timeout + 5)
                except asyncio.TimeoutError:
                    error: ProviderError = ProviderError("timeout", "request timed out")
                except asyncio.CancelledError:
                    # Cut in flight (the proposal cap, a stop): it was sent, so it is stored
                    # and counts in max_calls when the run resumes, unanswered.
                    self._record(messages, seq, attempt, ledger, error="cancelled: sent, cut before the reply")
                    raise
                except ProviderError as exc:
                    error = exc
                else:
                    reply = _storable(reply)
                    self._record(messages, seq, attempt, ledger, reply=reply)
                    return _usable(reply, self.spec)
                self._record(messages, seq, attempt, ledger, error=f"{error.kind}: {error}")
                if not error.retryable or k == self.retries:
                    tried = f" after {k + 1} tries" if k else ""
                    raise LLMFailure(f"{self.spec.label}: {error}{tried}")
                delay = error.retry_after if error.retry_after is not None else \
                    min(self.max_backoff, 0.5 * 2 ** k) * (0.5 + jitter.random())
                await asyncio.sleep(min(delay, self.max_backoff))
        raise AssertionError("unreachable")

    def _record(self, messages, seq, attempt, ledger, *, reply: Reply | None = None, error: str = "",
                replayed: bool = False, cost: float | None = None) -> None:
        if cost is None:
            cost = self.spec.cost(reply.tokens_in, reply.tokens_out) if reply else 0.0
        ledger.append(cost)
        self.store.record_call(
            seq=seq, attempt=attempt, model=self.spec.label, request=json.dumps(messages),
            request_hash=request_hash(messages), reply=reply.text if reply else "",
            finish=reply.finish if reply else "", error=error,
            tokens_in=reply.tokens_in if reply else 0, tokens_out=reply.tokens_out if reply else 0,
            cost=cost,
            latency=reply.latency if reply else 0.0, replayed=replayed)

    def _from_record(self, record, messages, seq, attempt, ledger) -> Reply:
        row = record.recorded_call(seq, attempt)
        if row is None:
            raise LLMFailure(f"replay: no recorded exchange for candidate {seq} (try {attempt})")
        if row["request_hash"] != request_hash(messages):
            raise LLMFailure(f"replay diverged at candidate {seq}: the prompt differs from the recorded one")
        if row["error"]:
            self._record(messages, seq, attempt, ledger, error=row["error"], replayed=True, cost=row["cost"])
            raise LLMFailure(f"{row['model']}: {row['error'].split(': ', 1)[-1]}")
        reply = Reply(row["reply"], row["finish"], row["tokens_in"], row["tokens_out"], 0.0)
        # The recorded cost, so cost-aware choices replay identically; replayed rows are
        # not counted as spending (Store.spent).
        self._record(messages, seq, attempt, ledger, reply=reply, replayed=True, cost=row["cost"])
        return _usable(reply, self.spec)

    async def close(self) -> None:
        if self._provider is not None and hasattr(self._provider, "close"):
            await self._provider.close()


def request_hash(messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]


def _storable(reply: Reply) -> Reply:
    """Lone surrogates (a JSON body may carry them) become U+FFFD: the reply is stored
    and parsed as text, never crashes either."""
    try:
        reply.text.encode("utf-8")
        return reply
    except UnicodeEncodeError:
        import dataclasses

        text = reply.text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return dataclasses.replace(reply, text=text)


def _usable(reply: Reply, spec: ModelSpec) -> Reply:
    if reply.finish == "refused":
        raise UnusableReply(f"{spec.label}: the model refused", text=reply.text,
                            hint="the reply was a refusal; the task is only to improve the program shown")
    if reply.finish == "length":
        raise UnusableReply(f"{spec.label}: reply truncated at max_tokens ({spec.max_tokens})", text=reply.text,
                            hint=f"the reply was cut off at the length limit ({spec.max_tokens} tokens); "
                                 "give a shorter reply: the edit only, little explanation")
    if not reply.text.strip():
        raise UnusableReply(f"{spec.label}: empty reply", text=reply.text, hint="the reply was empty")
    return reply
