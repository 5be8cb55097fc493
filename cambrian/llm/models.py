"""Which models an LLM operator may call, and what they cost."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import ConfigError

PROVIDERS = ("openai", "anthropic")
DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


@dataclass(frozen=True)
class ModelSpec:
    provider: str
    name: str
    base_url: str | None = None
    temperature: float = 0.7
    max_tokens: int = 4096
    reasoning_effort: str | None = None
    price_in: float = 0.0        # dollars per million input tokens
    price_out: float = 0.0       # dollars per million output tokens
    api_key_env: str | None = None

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.name}"

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.price_in + tokens_out * self.price_out) / 1e6

    def api_key(self) -> str:
        """The key from the environment, read when a client is built and never stored.
        A local server (base_url on loopback or set explicitly) may need none."""
        env = self.api_key_env or DEFAULT_KEY_ENV[self.provider]
        key = os.environ.get(env)
        if key:
            return key
        if self.base_url:
            return "no-key"
        raise ConfigError(f"model {self.label} needs the environment variable {env} set to an API key")


def parse_model(text: str) -> dict[str, str]:
    """``provider:name[@base_url]`` as config fields: ``openai:qwen2.5@http://127.0.0.1:8000/v1``."""
    provider, sep, rest = text.partition(":")
    if not sep or provider not in PROVIDERS or not rest:
        raise ConfigError(f"--model {text!r}: expected PROVIDER:NAME[@BASE_URL] with PROVIDER one of "
                          f"{', '.join(PROVIDERS)}")
    name, at, url = rest.partition("@")
    if not name or (at and not url.startswith(("http://", "https://"))):
        raise ConfigError(f"--model {text!r}: expected PROVIDER:NAME[@http(s)://HOST/PATH]")
    out = {"provider": provider, "name": name}
    if url:
        out["base_url"] = url
    return out
