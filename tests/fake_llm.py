"""A fake OpenAI- and Anthropic-compatible HTTP server on 127.0.0.1, for tests.

Real HTTP, real SDKs on the other side. Each test scripts it: ``script`` is a list of
responses consumed in order (then ``default`` forever). A response is a dict:
``{"text": ...}`` (a normal reply), ``{"status": 429, "headers": {...}}``,
``{"sleep": seconds}``, ``{"raw": b"..."}`` (a malformed body), ``{"finish": "length"}``,
``{"refusal": "..."}``, or a callable taking the request JSON and returning one.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


class FakeLLM:
    def __init__(self, default: Any = None):
        self.script: list[Any] = []
        self.default = default if default is not None else {"text": "no idea"}
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.active = 0
        self.max_active = 0  # most requests being answered at once
        self._lock = threading.Lock()
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeLLM":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(request)
            item = self.script.pop(0) if self.script else self.default
        return item(request) if callable(item) else item

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                request = json.loads(body or b"{}")
                with fake._lock:
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                    fake.active += 1
                    fake.max_active = max(fake.max_active, fake.active)
                try:
                    self._answer(request)
                finally:
                    with fake._lock:
                        fake.active -= 1

            def _answer(self, request: dict[str, Any]) -> None:
                anthropic = self.path.endswith("/messages")
                reply = fake._next(request)
                if "sleep" in reply:
                    time.sleep(reply["sleep"])
                    reply = {k: v for k, v in reply.items() if k != "sleep"} or {"text": "late"}
                status = reply.get("status", 200)
                if "raw" in reply:
                    payload = reply["raw"]
                elif status != 200:
                    payload = json.dumps({"error": {"message": f"fake error {status}", "type": "fake"}}).encode()
                elif anthropic:
                    payload = json.dumps(_anthropic(request, reply)).encode()
                else:
                    payload = json.dumps(_openai(request, reply)).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                for k, v in reply.get("headers", {}).items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _tokens(request: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))


def _openai(request: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
    text = reply.get("text", "")
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if "refusal" in reply:
        message = {"role": "assistant", "content": None, "refusal": reply["refusal"]}
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": request.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": reply.get("finish", "stop")}],
        "usage": {"prompt_tokens": _tokens(request), "completion_tokens": len(text.split()),
                  "total_tokens": _tokens(request) + len(text.split())},
    }


def _anthropic(request: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
    text = reply.get("text", "")
    stop = {"length": "max_tokens", "stop": "end_turn"}.get(reply.get("finish", "stop"), "end_turn")
    if "refusal" in reply:
        stop, text = "refusal", ""
    return {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": request.get("model", ""),
        "content": [{"type": "text", "text": text}] if text else [],
        "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": _tokens(request), "output_tokens": len(text.split())},
    }


_CODE = re.compile(r"## Current program[^\n]*\n```python\n(.*?)```", re.DOTALL)
_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+)")


def nudging_model(step: float = 0.25) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A crude but real 'model': moves one constant of the current program's evolve
    region up or down (chosen by the request's seed), as a SEARCH/REPLACE diff or a
    rewrite, whichever the prompt asks for."""

    def respond(request: dict[str, Any]) -> dict[str, Any]:
        prompt = "\n".join(str(m["content"]) for m in request["messages"] if m["role"] == "user")
        match = _CODE.search(prompt)
        if match is None:
            return {"text": "I cannot see the program."}
        code = match.group(1)
        start = code.index("# EVOLVE-BLOCK-START")
        end = code.index("# EVOLVE-BLOCK-END")
        region = code[start:end]
        lines = [line for line in region.splitlines(keepends=True) if _NUMBER.search(line)]
        if not lines:
            return {"text": "Nothing to change."}
        seed = int(request.get("seed") or 0)
        line = lines[seed % len(lines)]
        old = _NUMBER.search(line).group(1)
        new = f"{float(old) + (step if (seed // len(lines)) % 2 == 0 else -step):.4f}"
        changed = line.replace(old, new, 1)
        if "SEARCH/REPLACE" in prompt:
            return {"text": f"Nudge a constant.\n<<<<<<< SEARCH\n{line}=======\n{changed}>>>>>>> REPLACE\n"}
        new_region = region.replace(line, changed, 1)
        return {"text": f"```python\n{new_region}# EVOLVE-BLOCK-END\n```"}

    return respond
