"""Nothing in a candidate's text, a model's reply or a program's output can end or wedge
the run. A fake model (real HTTP) answers with random and adversarial texts; the run
must finish its budget with every attempt stored and the store intact."""

import json
import random
import re
import sqlite3

import pytest

import cambrian
from tests.conftest import write_problem
from tests.fake_llm import FakeLLM

PROGRAM = """
def run():
    # EVOLVE-BLOCK-START
    x = 1.0
    return {"combined_score": x}
    # EVOLVE-BLOCK-END
"""
EVALUATOR = """
import importlib.util

def evaluate(path):
    spec = importlib.util.spec_from_file_location("candidate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run()
"""
_CODE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def bodies(rng: random.Random) -> dict[str, str]:
    """Region bodies (indented for run()) that are hard on a parser, a compiler or an evaluator."""
    return {
        "3000-term sum": "    x = " + " + ".join(["1"] * 3000) + "\n    return {'combined_score': float(x)}\n",
        "deep parentheses": "    x = " + "(" * 3000 + "1" + ")" * 3000 + "\n",
        "deep blocks": "".join("    " + " " * i + "if True:\n" for i in range(150)) + " " * 154 + "pass\n",
        "deep lists": "    x = " + "[" * 500 + "]" * 500 + "\n",
        "null byte": "    x = 1.0\x00\n    return {'combined_score': x}\n",
        "lone surrogate": "    x = '\ud800'\n    return {'combined_score': 1.0}\n",
        "marker in a string": "    s = '# EVOLVE-BLOCK-END'\n    return {'combined_score': 2.0}\n",
        "marker line": "    # EVOLVE-BLOCK-END\n    x = 3\n    # EVOLVE-BLOCK-START\n",
        "search markers in a string": "    s = '<<<<<<< SEARCH\\n=======\\n>>>>>>> REPLACE'\n"
                                      "    return {'combined_score': 1.5}\n",
        "huge literal": "    x = '" + "a" * 2_000_000 + "'\n    return {'combined_score': 1.0}\n",
        "output flood": "    import sys\n    sys.stdout.write('\\x00\\xff' * 10**6)\n    return {'combined_score': 1.25}\n",
        "non-utf8 output": "    import os\n    os.write(1, bytes(range(256)) * 1000)\n    return {'combined_score': 1.3}\n",
        "garbage metrics": "    return {'combined_score': 1.0, 'x': object, 'y': [[[[[[[[[[1]]]]]]]]]], 'z': 1e400}\n",
        "random": "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(1, 400))),
        "fine": f"    x = {rng.uniform(0, 2):.4f}\n    return {{'combined_score': x}}\n",
    }


def replies(rng: random.Random, request: dict) -> str:
    prompt = "\n".join(str(m["content"]) for m in request["messages"])
    code = _CODE.search(prompt)
    parent = code.group(1) if code else PROGRAM
    region_start = parent.find("# EVOLVE-BLOCK-START\n")
    region_end = parent.find("    # EVOLVE-BLOCK-END")
    head = parent[: region_start + len("# EVOLVE-BLOCK-START\n")] if region_start >= 0 else ""
    name, body = rng.choice(sorted(bodies(rng).items()))
    first_line = parent[len(head): region_end].splitlines(keepends=True)[:1] if head else []
    kinds = [
        lambda: f"```python\n# EVOLVE-BLOCK-START\n{body}    # EVOLVE-BLOCK-END\n```",
        lambda: f"```python\n{head}{body}{parent[region_end:]}```",
        lambda: "<<<<<<< SEARCH\n" + "".join(first_line) + "=======\n" + body + ">>>>>>> REPLACE\n",
        lambda: "<<<<<<< SEARCH\n" * 200 + "x" * 10_000,           # unterminated blocks
        lambda: "garbage " * (10 * 1024 * 1024 // 8),                   # a 10 MB reply
        lambda: "```python\n" + "```" * 1000,
        lambda: "",
        lambda: "\x00" * 100 + "<<<<<<< SEARCH\n\x00\n=======\n\x00\n>>>>>>> REPLACE\n",
    ]
    return rng.choice(kinds)()


def adversarial_model(seed: int):
    rng = random.Random(seed)
    raw_bodies = [
        b'{"choices": [{"message": {"content": "\xff\xfe invalid utf-8"}, "finish_reason": "stop"}]}',
        b'{"choices": [{"message": {"content": "lone \\ud800 surrogate"}, "finish_reason": "stop"}]}',
        b'{"choices": [' * 10000,
        b"\x00\x01\x02",
    ]

    def respond(request):
        if rng.random() < 0.15:
            return {"raw": rng.choice(raw_bodies)}
        return {"text": replies(rng, request)}

    return respond


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_adversarial_texts_never_end_the_run(tmp_path, seed):
    problem = write_problem(tmp_path / "p", PROGRAM, EVALUATOR,
                            "evaluation:\n  timeout: 20\n  memory_mb: 1024\n")
    budget = 30
    with FakeLLM(default=adversarial_model(seed)) as server:
        result = cambrian.evolve(
            problem, run_dir=tmp_path / "run", budget=budget, workers=4, seed=seed,
            llm__models=[{"model": f"openai:fuzz@{server.url}"}], llm__retries=0,
            operator_choice="weights", llm__share=0.8, llm__formats={"diff": 1.0, "rewrite": 1.0})
    assert result.stats.candidates == budget
    conn = sqlite3.connect(tmp_path / "run" / "cambrian.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    seqs = [row[0] for row in conn.execute("SELECT seq FROM attempts ORDER BY seq")]
    assert seqs == list(range(budget + 1))
    # Every attempt says what happened to it.
    rows = conn.execute("SELECT a.outcome, a.reason, p.status, p.reason FROM attempts a "
                        "LEFT JOIN programs p ON p.id = a.program_id WHERE a.seq > 0").fetchall()
    for outcome, reason, status, program_reason in rows:
        assert outcome and (reason or status == "ok" or program_reason or outcome == "duplicate"), \
            (outcome, reason, status, program_reason)
    unexpected = [r for r in rows if (r[1] or "").startswith(("internal error", "operator raised"))]
    assert not unexpected, unexpected


@pytest.mark.parametrize("name", sorted(bodies(random.Random(0))))
def test_each_adversarial_body_is_a_status_with_a_reason(tmp_path, name):
    """Every adversarial body, as a rewrite, goes through check, evaluation and store."""
    body = bodies(random.Random(0))[name]
    reply = f"```python\n# EVOLVE-BLOCK-START\n{body}    # EVOLVE-BLOCK-END\n```"
    problem = write_problem(tmp_path / "p", PROGRAM, EVALUATOR, "evaluation:\n  timeout: 20\n")
    with FakeLLM(default={"text": reply}) as server:
        result = cambrian.evolve(
            problem, run_dir=tmp_path / "run", budget=2, workers=1, llm__models=[{"model": f"openai:f@{server.url}"}],
            operator_choice="weights", llm__share=1.0, llm__formats={"rewrite": 1.0}, llm__retry_with_error=False)
    assert result.stats.candidates == 2
    conn = sqlite3.connect(tmp_path / "run" / "cambrian.db")
    outcome, reason, status, program_reason = conn.execute(
        "SELECT a.outcome, a.reason, p.status, p.reason FROM attempts a "
        "LEFT JOIN programs p ON p.id = a.program_id WHERE a.seq = 1").fetchone()
    assert reason or program_reason or status == "ok", (outcome, reason, status)
    assert "internal error" not in (reason or ""), reason
    json.dumps([outcome, reason, status, program_reason])  # stored text is valid


class AdversarialOperator:
    """Hands the runner each adversarial body directly, past any operator's own checks:
    the runner's check, dedupe, novelty, evaluation and store see them raw."""

    name = "adversarial"
    needs_mate = False

    def __init__(self):
        self.turn = 0

    async def propose(self, parent, inspirations, context, rng):
        from cambrian.operators import Candidate

        items = sorted(bodies(random.Random(self.turn)).items())
        _, body = items[self.turn % len(items)]
        self.turn += 1
        start = parent.code.index("# EVOLVE-BLOCK-START\n") + len("# EVOLVE-BLOCK-START\n")
        end = parent.code.index("    # EVOLVE-BLOCK-END")
        return Candidate(parent.code[:start] + body + f"    # {self.turn}\n" + parent.code[end:])


def test_adversarial_candidates_from_an_operator(tmp_path):
    import asyncio

    from cambrian.session import build_runner, prepare

    problem = write_problem(tmp_path / "p", PROGRAM, EVALUATOR, "evaluation:\n  timeout: 20\n")
    budget = 2 * len(bodies(random.Random(0)))
    problem, config, store, run_path = prepare(problem, overrides={"budget": budget, "workers": 3,
                                                                   "novelty.enabled": True},
                                               run_dir=tmp_path / "run")
    runner = build_runner(problem, config, store, run_path)
    runner.operators = {name: AdversarialOperator() for name in runner.operators}

    async def go():
        try:
            return await runner.run(problem.initial_code)
        finally:
            await runner.close()

    stats = asyncio.run(go())
    assert stats.candidates == budget
    rows = store.rows("SELECT a.seq, a.outcome, a.reason, p.status, p.reason FROM attempts a "
                      "LEFT JOIN programs p ON p.id = a.program_id WHERE a.seq > 0 ORDER BY a.seq")
    assert [r[0] for r in rows] == list(range(1, budget + 1))
    reasons = [r[2] or r[4] or "" for r in rows]
    assert not [r for r in reasons if r.startswith(("internal error", "operator raised"))], reasons
    assert any("recursion limit" in r or "too deeply nested" in r for r in reasons), reasons
    assert any("not valid UTF-8" in r for r in reasons), reasons
