"""LLM access: model specs, providers over the official SDKs, and a recording client."""

from .budget import CallBudget
from .client import LLMClient, LLMFailure, UnusableReply, request_hash
from .models import ModelSpec, parse_model
from .providers import Provider, ProviderError, Reply

__all__ = ["CallBudget", "LLMClient", "LLMFailure", "ModelSpec", "Provider", "ProviderError", "Reply",
           "UnusableReply", "parse_model", "request_hash"]
