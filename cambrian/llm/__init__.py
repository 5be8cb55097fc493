"""LLM access: model specs, providers over the official SDKs, and a recording client."""

from .client import LLMClient, LLMFailure, request_hash
from .models import ModelSpec, parse_model
from .providers import Provider, ProviderError, Reply

__all__ = ["LLMClient", "LLMFailure", "ModelSpec", "Provider", "ProviderError", "Reply", "parse_model",
           "request_hash"]
