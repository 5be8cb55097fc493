"""A scripted OpenAI-compatible model on 127.0.0.1 that answers like a weak LLM.

It reads the programs shown in the prompt (the current program and any others), and
edits the numeric literals of the current program's evolve region the way a weak
model tunes constants: one to three values nudged by a step of random size, now and
then a value copied from another program shown, a "round" guess, an exact copy of a
program it was shown (a duplicate), or a reply that does not apply (prose without an
edit, a SEARCH that matches nothing, code that does not parse). It answers in the
format the prompt asks for: SEARCH/REPLACE blocks, or the evolve region rewritten.

Deterministic per request: the reply is a function of the request's messages and
seed, so a run is reproducible and replayable. Real HTTP, so the LLM client, retries
and the call record are exercised as with a real provider.

    python bench/search/weak_llm.py --port 8765     # serve until interrupted
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

_BLOCK = re.compile(r"^##\s*(?P<title>[^\n]*)\n```python\n(?P<code>.*?)```", re.DOTALL | re.MULTILINE)
_ASSIGN = re.compile(r"^(?P<indent>\s*)(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>-?\d+(?:\.\d+)?)\s*$")
START, END = "# EVOLVE-BLOCK-START", "# EVOLVE-BLOCK-END"


@dataclass(frozen=True)
class Behaviour:
    """How often the model does each thing (the rest of the time: a numeric nudge)."""

    malformed: float = 0.10     # a reply that does not apply
    duplicate: float = 0.06     # an exact copy of a program shown
    copy: float = 0.30          # copy values from another program shown (when there is one)
    guess: float = 0.08         # set a value to a round guess anywhere in its plausible range


def region(code: str) -> str:
    start, end = code.find(START), code.find(END)
    return code[start:end] if 0 <= start < end else ""


def literals(code: str) -> dict[str, str]:
    """name -> literal text of the simple assignments in the evolve region, in order."""
    out = {}
    for line in region(code).splitlines():
        m = _ASSIGN.match(line)
        if m:
            out[m.group("name")] = m.group("value")
    return out


def shown_programs(prompt: str) -> tuple[str | None, list[str]]:
    """(current program, other programs) from a prompt's '## title' + python blocks."""
    current, others = None, []
    for m in _BLOCK.finditer(prompt):
        if current is None and "current program" in m.group("title").lower():
            current = m.group("code")
        else:
            others.append(m.group("code"))
    if current is None and others:
        current = others.pop(0)
    return current, others


def _nudge(text: str, rng: np.random.Generator) -> str:
    if "." not in text:  # an integer: a small step
        step = int(rng.choice([1, 1, 1, 2, 3])) * (1 if rng.random() < 0.5 else -1)
        return str(int(text) + step)
    value = float(text)
    scale = float(rng.choice([0.01, 0.03, 0.1, 0.3])) * float(rng.uniform(0.5, 1.5))
    return f"{value + scale * (1 if rng.random() < 0.5 else -1):.3f}"


def _guess(text: str, rng: np.random.Generator) -> str:
    if "." not in text:
        return str(int(rng.integers(0, 10)))
    return f"{float(rng.integers(0, 21)) / 20:.2f}"


def new_values(current: dict[str, str], others: list[dict[str, str]], rng: np.random.Generator,
               behaviour: Behaviour) -> dict[str, str]:
    """name -> new literal for the names the model decides to change."""
    names = list(current)
    if not names:
        return {}
    donors = [o for o in others if any(o.get(n) not in (None, current[n]) for n in names)]
    roll = rng.random()
    if donors and roll < behaviour.copy:
        donor = donors[int(rng.integers(len(donors)))]
        differing = [n for n in names if donor.get(n) not in (None, current[n])]
        k = min(len(differing), int(rng.choice([1, 1, 2, 3, len(differing)])))
        picked = rng.choice(len(differing), size=k, replace=False)
        return {differing[i]: donor[differing[i]] for i in sorted(picked)}
    k = min(len(names), int(rng.choice([1, 1, 1, 2, 2, 3])))
    picked = sorted(rng.choice(len(names), size=k, replace=False))
    guess = rng.random() < behaviour.guess
    return {names[i]: (_guess if guess else _nudge)(current[names[i]], rng) for i in picked}


def edit(code: str, changes: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """The code with the changes made, and the (old line, new line) pairs."""
    lines = code.splitlines(keepends=True)
    pairs = []
    inside = False
    for i, line in enumerate(lines):
        if START in line:
            inside = True
        elif END in line:
            inside = False
        m = _ASSIGN.match(line.rstrip("\n")) if inside else None
        if m and m.group("name") in changes:
            new = f"{m.group('indent')}{m.group('name')} = {changes[m.group('name')]}\n"
            pairs.append((line, new))
            lines[i] = new
    return "".join(lines), pairs


def reply(request: dict[str, Any], behaviour: Behaviour = Behaviour()) -> str:
    """The model's answer to one chat request."""
    messages = request.get("messages", [])
    key = json.dumps([messages, request.get("seed")], sort_keys=True).encode()
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))
    prompt = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    first = next((str(m.get("content", "")) for m in messages if m.get("role") == "user"), "")
    current, others = shown_programs(first)
    diff = "SEARCH/REPLACE" in first
    if current is None:
        return "I could not find the program."
    roll = rng.random()
    if roll < behaviour.malformed:
        kind = int(rng.integers(3))
        if kind == 0:
            return "The constants look reasonable; I would try tuning them a little further."
        if kind == 1:
            return ("Adjust the first constant.\n<<<<<<< SEARCH\nvalue = 0.123456\n=======\n"
                    "value = 0.2\n>>>>>>> REPLACE\n")
        broken = region(current).replace(" = ", " = = ", 1)
        return f"```python\n{broken}{END}\n```"
    if roll < behaviour.malformed + behaviour.duplicate and others:
        chosen = region(others[int(rng.integers(len(others)))])
        return f"Take the better program's values.\n```python\n{chosen}{END}\n```" if not diff else \
            _as_diff(current, literals(others[0]))
    values = new_values(literals(current), [literals(o) for o in others], rng, behaviour)
    if not diff:
        code, _ = edit(current, values)
        return f"Tuned {', '.join(values) or 'nothing'}.\n```python\n{region(code)}{END}\n```"
    return _as_diff(current, values)


def _as_diff(current: str, values: dict[str, str]) -> str:
    _, pairs = edit(current, values)
    if not pairs:
        return "Nothing to change."
    blocks = "".join(f"<<<<<<< SEARCH\n{old}=======\n{new}>>>>>>> REPLACE\n" for old, new in pairs)
    return f"Tune {len(pairs)} constant(s).\n{blocks}"


class WeakLLM:
    """The server: ``with WeakLLM() as model: model.url`` -> an OpenAI base URL."""

    def __init__(self, port: int = 0, behaviour: Behaviour = Behaviour()):
        self.behaviour = behaviour
        self.calls = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "WeakLLM":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    request = json.loads(body or b"{}")
                    text = reply(request, model.behaviour)
                except Exception as exc:  # a bug here must show as an HTTP error, not a hang
                    self._send(500, {"error": {"message": f"weak model failed: {exc}", "type": "server"}})
                    return
                with model._lock:
                    model.calls += 1
                words_in = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
                self._send(200, {
                    "id": "chatcmpl-weak", "object": "chat.completion", "created": 0,
                    "model": request.get("model", "weak"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": words_in, "completion_tokens": len(text.split()),
                              "total_tokens": words_in + len(text.split())},
                })

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with WeakLLM(args.port) as model:
        print(f"weak model at {model.url} (model name: anything)", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
