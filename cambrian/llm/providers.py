"""Chat providers behind one small interface, over the official SDKs (imported only
when a model of theirs is used). SDK retries are off: ``client`` owns retrying, so
there is one retry layer and one deadline."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from .models import ModelSpec


@dataclass(frozen=True)
class Reply:
    text: str
    finish: str              # stop | length | refused | ...
    tokens_in: int
    tokens_out: int
    latency: float


class ProviderError(Exception):
    """A failed request: ``kind`` says whether retrying may help."""

    def __init__(self, kind: str, message: str, *, retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.kind = kind                # rate_limit | server | connection | timeout | malformed | client
        self.retry_after = retry_after
        self.status = status

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limit", "server", "connection", "timeout", "malformed")


class Provider(Protocol):
    async def complete(self, messages: list[dict[str, str]], *, spec: ModelSpec, seed: int,
                       timeout: float) -> Reply: ...


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _classify(exc: Exception, sdk: Any) -> ProviderError:
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderError("timeout", "request timed out")
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderError("connection", f"connection failed: {exc}")
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        kind = "rate_limit" if status == 429 else "server" if status >= 500 else "client"
        headers = getattr(exc.response, "headers", None)
        return ProviderError(kind, f"HTTP {status}: {str(exc)[:200]}", retry_after=_retry_after(headers),
                             status=status)
    return ProviderError("client", f"{type(exc).__name__}: {exc}"[:300])


class OpenAIProvider:
    """Any OpenAI-compatible chat endpoint: OpenAI, vLLM, Ollama, llama.cpp, OpenRouter, ..."""

    def __init__(self, spec: ModelSpec):
        import openai

        self._sdk = openai
        self._client = openai.AsyncOpenAI(api_key=spec.api_key(), base_url=spec.base_url, max_retries=0)

    async def complete(self, messages, *, spec, seed, timeout):
        kwargs: dict[str, Any] = {"model": spec.name, "messages": messages, "temperature": spec.temperature,
                                  "seed": seed, "timeout": timeout}
        if spec.base_url is None:
            kwargs["max_completion_tokens"] = spec.max_tokens
        else:
            kwargs["max_tokens"] = spec.max_tokens  # what compatible servers understand
        if spec.reasoning_effort:
            kwargs["reasoning_effort"] = spec.reasoning_effort
        start = time.monotonic()
        try:
            response = await self._client.chat.completions.create(**kwargs)
        except self._sdk.OpenAIError as exc:
            raise _classify(exc, self._sdk) from None
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:  # a body the SDK cannot read
            raise ProviderError("malformed", f"malformed reply: {type(exc).__name__}: {str(exc)[:120]}") from None
        if not getattr(response, "choices", None):
            raise ProviderError("malformed", "malformed reply: no choices")
        choice = response.choices[0]
        message = choice.message
        finish = choice.finish_reason or "stop"
        if getattr(message, "refusal", None) or finish == "content_filter":
            finish = "refused"
        usage = response.usage
        return Reply(text=message.content or "", finish=finish,
                     tokens_in=getattr(usage, "prompt_tokens", 0) or 0,
                     tokens_out=getattr(usage, "completion_tokens", 0) or 0,
                     latency=time.monotonic() - start)

    async def close(self) -> None:
        await self._client.close()


class AnthropicProvider:
    def __init__(self, spec: ModelSpec):
        import anthropic

        self._sdk = anthropic
        self._client = anthropic.AsyncAnthropic(api_key=spec.api_key(), base_url=spec.base_url, max_retries=0)

    async def complete(self, messages, *, spec, seed, timeout):
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [m for m in messages if m["role"] != "system"]
        start = time.monotonic()
        try:
            # This SDK's Messages API takes no temperature: the model's default sampling applies.
            response = await self._client.messages.create(
                model=spec.name, system=system, messages=turns, max_tokens=spec.max_tokens, timeout=timeout)
        except self._sdk.AnthropicError as exc:
            raise _classify(exc, self._sdk) from None
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise ProviderError("malformed", f"malformed reply: {type(exc).__name__}: {str(exc)[:120]}") from None
        text = "".join(getattr(block, "text", "") for block in response.content)
        finish = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                  "refusal": "refused"}.get(response.stop_reason or "", response.stop_reason or "stop")
        return Reply(text=text, finish=finish, tokens_in=response.usage.input_tokens,
                     tokens_out=response.usage.output_tokens, latency=time.monotonic() - start)

    async def close(self) -> None:
        await self._client.close()


def make_provider(spec: ModelSpec) -> Provider:
    return AnthropicProvider(spec) if spec.provider == "anthropic" else OpenAIProvider(spec)
