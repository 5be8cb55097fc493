"""Ask a model from an evaluator: scoring a prompt or any text with a model, through
the same providers and ``provider:name[@base_url]`` strings as the run's LLM operators.

    from cambrian.llm.direct import ask

    def evaluate(program_path):
        prompt = open(program_path).read()
        answers = ask("openai:gpt-4o-mini", [[{"role": "system", "content": prompt},
                                              {"role": "user", "content": item}] for item in items])

One request per conversation, several in flight at once, no retries and no recording
(that is the run's client's business, not an evaluator's): a failed request raises
``ProviderError``, which makes the candidate's evaluation an error with that reason.
The evaluator needs ``evaluation.network: true`` and the key's variable in
``evaluation.pass_env``.
"""

from __future__ import annotations

import asyncio
from typing import Sequence

from .models import ModelSpec, parse_model
from .providers import make_provider

Conversation = Sequence[dict[str, str]]


def ask(model: str, conversations: Sequence[str | Conversation], *, temperature: float = 0.0,
        max_tokens: int = 256, timeout: float = 60.0, concurrency: int = 8, seed: int = 0) -> list[str]:
    """The model's reply text to each conversation (a string is one user message), in order."""
    spec = ModelSpec(**parse_model(model), temperature=temperature, max_tokens=max_tokens)
    chats = [[{"role": "user", "content": c}] if isinstance(c, str) else list(c) for c in conversations]

    async def run() -> list[str]:
        provider = make_provider(spec)
        gate = asyncio.Semaphore(concurrency)

        async def one(messages: list[dict[str, str]]) -> str:
            async with gate:
                reply = await provider.complete(messages, spec=spec, seed=seed, timeout=timeout)
            return reply.text

        try:
            return list(await asyncio.gather(*(one(m) for m in chats)))
        finally:
            await provider.close()

    return asyncio.run(run())
