"""LLM operators against a fake OpenAI/Anthropic server on 127.0.0.1: real HTTP, real SDKs."""

import asyncio
import json
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

import cambrian
from cambrian.llm import LLMClient, LLMFailure, ModelSpec
from cambrian.operators import Candidate, Context, ProposalFailure
from cambrian.operators.llm import LLMOperator
from cambrian.program import Program, program_id
from cambrian.prompt import load_templates
from cambrian.store import Store
from tests.conftest import QUADRATIC_EVALUATOR, QUADRATIC_PROGRAM, write_problem
from tests.fake_llm import FakeLLM, nudging_model
from tests.integration.test_cli import _one_line_error, cambrian as cli

PARENT_CODE = "def solve():\n    # EVOLVE-BLOCK-START\n    x = 1.0\n    return x\n    # EVOLVE-BLOCK-END\n"
PARENT = Program(program_id(PARENT_CODE), PARENT_CODE, None, "initial", 0, 0, "ok", score=1.0)
DIFF = "Raise x.\n<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = 2.0\n>>>>>>> REPLACE\n"
SECRET = "sk-test-secret-never-stored"


@pytest.fixture
def fake():
    with FakeLLM() as server:
        yield server


@pytest.fixture
def store(tmp_path):
    s = Store.create(tmp_path / "cambrian.db", {"config": {}})
    yield s
    s.close()


def _spec(fake, provider="openai", **kw):
    url = fake.url if provider == "openai" else fake.anthropic_url
    return ModelSpec(provider, "fake-model", base_url=url, price_in=1.0, price_out=2.0, **kw)


def _propose(fake, store, provider="openai", fmt="diff", seq=1, **client_kw):
    client = LLMClient(_spec(fake, provider), store=store, **{"retries": 2, "request_timeout": 5, **client_kw})
    op = LLMOperator(client, fmt, templates=load_templates())
    ctx = Context(task="make x big", objective="combined_score", direction="maximize", seq=seq)

    async def go():
        try:
            return await op.propose(PARENT, [PARENT], ctx, np.random.default_rng(0))
        finally:
            await client.close()

    return asyncio.run(go())


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_provider_contract(fake, store, provider, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    fake.script = [{"text": DIFF}]
    made = _propose(fake, store, provider)
    assert isinstance(made, Candidate) and "x = 2.0" in made.code
    assert made.model == "%s:fake-model" % provider and made.cost > 0
    row = store.recorded_call(1, 0)
    assert row["reply"] == DIFF and row["tokens_in"] > 0 and row["cost"] == pytest.approx(made.cost)
    assert any(SECRET in " ".join(h.values()) for h in fake.headers), "the key was sent to the server"
    dump = "\n".join(store.conn.iterdump())
    assert SECRET not in dump, "an API key reached the store"


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("script, fragment", [
    ([{"status": 401}], "HTTP 401"),
    ([{"status": 500}] * 3, "after 3 tries"),
    ([{"text": ""}] * 2, "empty reply"),
    ([{"text": "partial", "finish": "length"}] * 2, "truncated"),
    ([{"refusal": "I will not"}] * 2, "refused"),
    ([{"raw": b"{not json"}] * 3, "malformed reply"),
    ([{"sleep": 3}] * 3, "timed out"),
])
def test_failures_are_reasons(fake, store, provider, script, fragment):
    fake.script = list(script)
    made = _propose(fake, store, provider, request_timeout=1)
    assert isinstance(made, ProposalFailure)
    assert fragment in made.reason
    assert made.reason.startswith(f"{provider}:fake-model")


def test_rate_limit_honors_retry_after(fake, store, monkeypatch):
    import cambrian.llm.client as client_module

    waits = []
    real_sleep = asyncio.sleep

    async def sleep(delay, *args, **kwargs):
        waits.append(delay)
        await real_sleep(0)

    # The server asks for 7 s; the client's own backoff would be 0.25-0.75 s.
    monkeypatch.setattr(client_module.asyncio, "sleep", sleep)
    fake.script = [{"status": 429, "headers": {"retry-after": "7"}}, {"text": DIFF}]
    made = _propose(fake, store)
    assert isinstance(made, Candidate)
    calls = store.rows("SELECT error FROM llm_calls ORDER BY id")
    assert len(calls) == 2 and calls[0][0].startswith("rate_limit") and calls[1][0] == ""
    assert [w for w in waits if w] == [7.0]


def test_connection_refused_is_a_failure(store):
    with FakeLLM() as closed:
        url = closed.url
    client = LLMClient(ModelSpec("openai", "m", base_url=url), store=store, retries=1, max_backoff=0.1)

    async def go():
        return await client.ask([{"role": "user", "content": "hi"}], seq=1, attempt=0, seed=0)

    with pytest.raises(LLMFailure, match="connection"):
        asyncio.run(go())


def test_bad_edit_is_retried_once_with_the_error_shown(fake, store):
    fake.script = [{"text": "<<<<<<< SEARCH\n    y = 5\n=======\n    y = 6\n>>>>>>> REPLACE\n"}, {"text": DIFF}]
    made = _propose(fake, store)
    assert isinstance(made, Candidate)
    second = fake.requests[1]["messages"]
    assert "SEARCH block 1 not found" in second[-1]["content"]
    assert second[-2]["role"] == "assistant"


@pytest.mark.parametrize("first, shown, told", [
    ({"text": ""}, "(no reply)", "the reply was empty"),
    ({"text": "<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = 2", "finish": "length"}, "<<<<<<< SEARCH",
     "cut off at the length limit"),
    ({"refusal": "no"}, "(no reply)", "the reply was a refusal"),
    ({"text": "just prose"}, "just prose", "no SEARCH/REPLACE block in the reply"),
    ({"text": "<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = 1.0\n>>>>>>> REPLACE\n"}, "SEARCH",
     "leaves the program unchanged"),
    ({"text": "<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = (\n>>>>>>> REPLACE\n"}, "SEARCH", "does not parse"),
    ({"text": "<<<<<<< SEARCH\ndef solve():\n=======\ndef solved():\n>>>>>>> REPLACE\n"}, "SEARCH",
     "outside the evolve regions"),
])
def test_every_rejected_reply_is_asked_again_with_the_reason(fake, store, first, shown, told):
    fake.script = [first, {"text": DIFF}]
    made = _propose(fake, store)
    assert isinstance(made, Candidate) and "x = 2.0" in made.code
    again = fake.requests[1]["messages"]
    assert again[-2]["role"] == "assistant" and shown in again[-2]["content"]
    assert told in again[-1]["content"]
    assert len(store.rows("SELECT id FROM llm_calls")) == 2


def test_a_child_the_parent_already_produced_is_asked_again(fake, store):
    from cambrian.operators.base import Tried

    known = PARENT_CODE.replace("x = 1.0", "x = 2.0")
    client = LLMClient(_spec(fake), store=store, retries=0, request_timeout=5)
    op = LLMOperator(client, "diff", templates=load_templates())
    ctx = Context(task="t", objective="combined_score", direction="maximize", seq=1,
                  tried=(Tried("perturb", "ok", "scored 1.5 (parent 1)", program_id=program_id(known)),))
    fake.script = [{"text": DIFF}, {"text": DIFF.replace("2.0", "3.0")}]

    async def go():
        try:
            return await op.propose(PARENT, [], ctx, np.random.default_rng(0))
        finally:
            await client.close()

    made = asyncio.run(go())
    assert isinstance(made, Candidate) and "x = 3.0" in made.code
    assert "already produced (ok: scored 1.5 (parent 1))" in fake.requests[1]["messages"][-1]["content"]


def test_crossover_giving_back_an_inspiration_unchanged_is_asked_again(fake, store):
    other_code = PARENT_CODE.replace("x = 1.0", "x = 5.0")
    other = Program(program_id(other_code), other_code, None, "perturb", 1, 0, "ok", score=2.0)
    client = LLMClient(_spec(fake), store=store, retries=0, request_timeout=5)
    op = LLMOperator(client, "crossover", templates=load_templates())
    fake.script = [{"text": "```python\nx = 5.0\nreturn x\n```"}, {"text": "```python\nx = 3.0\nreturn x\n```"}]

    async def go():
        try:
            return await op.propose(PARENT, [other], Context(task="t", objective="combined_score",
                                                             direction="maximize", seq=1), np.random.default_rng(0))
        finally:
            await client.close()

    made = asyncio.run(go())
    assert isinstance(made, Candidate) and "x = 3.0" in made.code
    assert "gives back other program 1 unchanged" in fake.requests[1]["messages"][-1]["content"]


@pytest.mark.parametrize("reply, fragment", [
    ("just prose", "no SEARCH/REPLACE block"),
    ("<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = 1.0\n>>>>>>> REPLACE\n", "unchanged"),
    ("<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = (\n>>>>>>> REPLACE\n", "does not parse"),
    ("<<<<<<< SEARCH\ndef solve():\n=======\ndef solved():\n>>>>>>> REPLACE\n", "outside the evolve regions"),
])
def test_unusable_edits_never_become_the_parent(fake, store, reply, fragment):
    fake.default = {"text": reply}
    made = _propose(fake, store)
    assert isinstance(made, ProposalFailure) and fragment in made.reason


@pytest.mark.parametrize("fmt", ["rewrite", "crossover"])
def test_rewrite_and_crossover(fake, store, fmt):
    fake.default = {"text": "```python\nx = 3.0\nreturn x\n```"}
    made = _propose(fake, store, fmt=fmt)
    assert isinstance(made, Candidate) and "    x = 3.0\n    return x\n" in made.code
    prompt = fake.requests[0]["messages"][1]["content"]
    assert "Other program 1" in prompt


# -- whole runs -------------------------------------------------------------
def _problem(tmp_path, extra=""):
    return write_problem(tmp_path / "quad", QUADRATIC_PROGRAM, QUADRATIC_EVALUATOR,
                         "budget: 30\nworkers: 2\nseed: 4\n" + extra)


def _models(fake, price=1.0):
    return [{"model": f"openai:nudge@{fake.url}", "price_in": price, "price_out": price}]


def test_evolution_with_a_model_improves_and_accounts_cost(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    fake.default = nudging_model()
    result = cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", llm__models=_models(fake))
    assert any(SECRET in " ".join(h.values()) for h in fake.headers)
    for path in result.run_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"the API key reached {path.name}"
    assert result.score > result.stats.initial_score
    conn = sqlite3.connect(result.run_dir / "cambrian.db")
    by_op = dict(conn.execute("SELECT operator, COUNT(*) FROM attempts WHERE seq > 0 GROUP BY operator"))
    assert any(op.startswith("llm:openai:nudge") for op in by_op), by_op
    llm_cost = conn.execute("SELECT SUM(cost) FROM attempts WHERE model IS NOT NULL").fetchone()[0]
    assert llm_cost == pytest.approx(conn.execute("SELECT SUM(cost) FROM llm_calls").fetchone()[0])
    status = cli("status", result.run_dir)
    assert "LLM cost" in status.stdout and "per valid program" in status.stdout


def test_stalled_model_hits_the_proposal_cap_and_the_run_goes_on(fake, tmp_path):
    fake.default = {"sleep": 30}
    result = cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", budget=6,
                             llm__models=_models(fake), llm__proposal_timeout=1.0, llm__request_timeout=20,
                             operator_choice="weights", llm__share=1.0)
    reasons = [a.reason for a in result.store.attempts() if a.outcome == "failed"]
    assert reasons and all("longer than the 1 s cap" in r for r in reasons)
    assert result.stats.candidates == 6


def test_max_cost_stops_before_overspending(fake, tmp_path):
    fake.default = nudging_model()
    result = cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", budget=200, max_cost=0.02,
                             llm__models=_models(fake, price=50.0), operator_choice="weights", llm__share=1.0)
    assert result.stats.stop_reason.startswith("max cost")
    assert result.store.spent() <= 0.02
    assert result.stats.candidates < 200


def test_replay_reproduces_the_run_without_calling_the_model(fake, tmp_path):
    fake.default = nudging_model()
    result = cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", llm__models=_models(fake))
    requests = len(fake.requests)
    assert requests > 0
    replay = cli("replay", result.run_dir, "--run-dir", tmp_path / "replay", "--quiet")
    assert replay.returncode == 0, replay.stderr
    assert "sequence identical to the source" in replay.stdout
    assert len(fake.requests) == requests, "replay called the model"
    conn = sqlite3.connect(tmp_path / "replay" / "cambrian.db")
    assert conn.execute("SELECT COUNT(*) FROM llm_calls WHERE replayed = 0").fetchone()[0] == 0


def test_a_run_older_than_a_search_setting_replays_as_it_ran(fake, tmp_path):
    """A run saved before search.min_gain / drift_evidence existed ran with both at 0: replay
    uses those values (not the new defaults) and reproduces it."""
    fake.default = nudging_model()
    result = cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", llm__models=_models(fake),
                             search__min_gain=0.0, search__drift_evidence=0.0)
    store = Store.open(result.run_dir)
    saved = store.meta("config")
    del saved["search"]["min_gain"], saved["search"]["drift_evidence"]
    store.close()
    conn = sqlite3.connect(result.run_dir / "cambrian.db")
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(saved),))
    conn.close()
    replay = cli("replay", result.run_dir, "--run-dir", tmp_path / "replay", "--quiet")
    assert replay.returncode == 0, replay.stderr
    assert "sequence identical to the source" in replay.stdout
    search = Store.open(tmp_path / "replay").meta("config")["search"]
    assert (search["min_gain"], search["drift_evidence"]) == (0.0, 0.0)


def test_replay_branches_after_a_prefix(fake, tmp_path):
    fake.default = nudging_model()
    result = cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", llm__models=_models(fake))
    before = len(fake.requests)
    with FakeLLM(default=nudging_model(step=0.5)) as other:
        out = cli("replay", result.run_dir, "--run-dir", tmp_path / "branch", "--until", 10, "--quiet",
                  "--model", f"openai:other@{other.url}")
        assert out.returncode == 0, out.stderr
        assert other.requests, "the branch did not go live after the prefix"
    assert len(fake.requests) == before, "the recorded prefix called the original model"
    a = Store.open(result.run_dir)
    b = Store.open(tmp_path / "branch")
    sql = "SELECT seq, program_id, outcome FROM attempts WHERE seq <= 10 ORDER BY seq"
    assert a.rows(sql) == b.rows(sql)
    assert b.rows("SELECT MIN(seq) FROM llm_calls WHERE replayed = 0")[0][0] > 10


def test_resume_with_a_changed_model_list(fake, tmp_path):
    fake.default = nudging_model()
    first = cli("run", _problem(tmp_path), "--run-dir", tmp_path / "run", "--budget", 10, "--quiet",
                "--model", f"openai:nudge@{fake.url}")
    assert first.returncode == 0, first.stderr
    with FakeLLM(default=nudging_model()) as other:
        more = cli("run", "--resume", tmp_path / "run", "--budget", 20, "--quiet",
                   "--model", f"openai:other@{other.url}")
        assert more.returncode == 0, more.stderr
        assert other.requests
    ops = {row[0] for row in Store.open(tmp_path / "run").rows("SELECT operator FROM attempts")}
    assert any("nudge" in o for o in ops) and any("other" in o for o in ops)


def test_bad_model_flags_are_one_line(tmp_path, monkeypatch):
    problem = _problem(tmp_path)
    _one_line_error(cli("run", problem, "--model", "gpt-5", "--run-dir", tmp_path / "a"), "PROVIDER:NAME")
    env_less = {k: v for k, v in __import__("os").environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", str(problem), "--run-dir",
                           str(tmp_path / "b"), "--model", "openai:gpt-5-mini"], env=env_less,
                          capture_output=True, text=True)
    _one_line_error(proc, "OPENAI_API_KEY")


def test_cli_imports_no_sdk_without_a_model():
    code = ("import sys, cambrian.session, cambrian.cli\n"
            "print([m for m in ('openai', 'anthropic') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip() == "[]"


WIDE_PROGRAM = "def solve():\n    # EVOLVE-BLOCK-START\n" + "".join(
    f"    c{i} = {i}.0\n" for i in range(20)) + "    x = 1.0\n    y = -2.0\n    return x, y\n    # EVOLVE-BLOCK-END\n"


def test_novelty_resamples_near_copies_and_replays(fake, tmp_path):
    fake.default = nudging_model()
    problem = write_problem(tmp_path / "wide", WIDE_PROGRAM, QUADRATIC_EVALUATOR,
                            "budget: 12\nworkers: 2\nseed: 1\nnovelty: {enabled: true, threshold: 0.8, resamples: 2}\n")
    result = cambrian.evolve(problem, run_dir=tmp_path / "run", llm__models=_models(fake),
                             operator_choice="weights", llm__share=1.0, llm__formats={"diff": 1.0})
    notes = [a.reason for a in result.store.attempts(1) if "novelty: resampled" in a.reason]
    assert notes, "no candidate was found too similar"
    attempts_per_seq = result.store.rows("SELECT seq, MAX(attempt) FROM llm_calls GROUP BY seq")
    assert any(top >= 2 for _, top in attempts_per_seq)  # resamples are recorded under their own keys
    replay = cli("replay", result.run_dir, "--run-dir", tmp_path / "replay", "--quiet")
    assert "sequence identical to the source" in replay.stdout, replay.stdout + replay.stderr


def test_insights_feed_later_prompts_and_replay(fake, tmp_path):
    def respond(request):
        prompt = request["messages"][-1]["content"]
        if "keeping notes" in prompt:
            return {"text": "- nudging x upward helped"}
        return nudging_model()(request)

    fake.default = respond
    result = cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", llm__models=_models(fake),
                             llm__insights_every=5, operator_choice="weights", llm__share=1.0)
    events = result.store.rows("SELECT data FROM events WHERE kind = 'insights'")
    assert len(events) >= 2
    later = [r for r in fake.requests if "Notes from earlier in this search" in r["messages"][-1]["content"]]
    assert later and "nudging x upward helped" in later[-1]["messages"][-1]["content"]
    replay = cli("replay", result.run_dir, "--run-dir", tmp_path / "replay", "--quiet")
    assert "sequence identical to the source" in replay.stdout, replay.stdout + replay.stderr


def test_sigkill_and_resume_with_a_model_pays_nothing_twice(fake, tmp_path):
    import signal
    import time

    def slow(request):
        time.sleep(0.2)
        return nudging_model()(request)

    fake.default = slow
    problem = _problem(tmp_path, "evaluation:\n  timeout: 10\n")
    model = f"openai:nudge@{fake.url}"
    ref = cli("run", problem, "--run-dir", tmp_path / "ref", "--workers", 4, "--quiet", "--model", model)
    assert ref.returncode == 0, ref.stderr

    proc = subprocess.Popen([sys.executable, "-m", "cambrian.cli", "run", str(problem), "--run-dir",
                             str(tmp_path / "run"), "--workers", "4", "--quiet", "--model", model],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = tmp_path / "run" / "cambrian.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(Store.open(db).rows("SELECT seq FROM attempts")) >= 10:
                break
        except Exception:
            pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(Store.open(db).rows("SELECT seq FROM attempts")) < 31, "the run finished before the kill"
    more = cli("run", "--resume", tmp_path / "run", "--quiet")
    assert more.returncode == 0, more.stderr
    store = Store.open(db)
    paid = store.rows("SELECT seq, attempt, COUNT(*) FROM llm_calls WHERE replayed = 0 AND error = ''"
                      " GROUP BY seq, attempt HAVING COUNT(*) > 1")
    assert paid == [], "an answered request was paid for again after resume"
    sql = "SELECT a.seq, a.program_id, a.outcome, p.score FROM attempts a LEFT JOIN programs p ON p.id = a.program_id ORDER BY a.seq"
    assert store.rows(sql) == Store.open(tmp_path / "ref").rows(sql)


def _most_at_once(tmp_path, concurrency):
    """Requests answered at once by one endpoint serving two models. Each request waits
    (up to 1 s) for a second one to arrive, so requests overlap whenever the limit lets them."""
    import time

    holder = {}

    def overlapping(request):
        deadline = time.monotonic() + 1.0
        while holder["server"].active < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        return nudging_model()(request)

    with FakeLLM(default=overlapping) as server:
        holder["server"] = server
        models = [{"model": f"openai:a@{server.url}"}, {"model": f"openai:b@{server.url}"}]
        cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / f"run{concurrency}", budget=6, workers=6,
                        llm__models=models, llm__concurrency=concurrency, operator_choice="weights",
                        llm__share=1.0)
        assert len(server.requests) >= 4
        return server.max_active


def test_concurrency_limit_is_per_provider_endpoint(tmp_path):
    # The check can see overlap: with a limit of 2, requests do overlap...
    assert _most_at_once(tmp_path, 2) == 2
    # ...and with a limit of 1 per endpoint, two models on it never overlap.
    assert _most_at_once(tmp_path, 1) == 1


def test_user_prompt_templates_reach_operators_and_insights(fake, tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "insights.txt").write_text("MY NOTES PROMPT for $objective\n$recent\n")
    (prompts / "diff.txt").write_text("MY DIFF PROMPT\n$parent\nUse SEARCH/REPLACE.\n")
    fake.default = nudging_model()
    cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", budget=10, llm__models=_models(fake),
                    llm__prompts_dir=str(prompts), llm__insights_every=5, operator_choice="weights",
                    llm__share=1.0, llm__formats={"diff": 1.0})
    texts = [r["messages"][-1]["content"] for r in fake.requests]
    assert any(t.startswith("MY NOTES PROMPT for combined_score") for t in texts)
    assert any(t.startswith("MY DIFF PROMPT") for t in texts)


def _calls_sent(run):
    return Store.open(run).rows("SELECT COUNT(*) FROM llm_calls WHERE replayed = 0")[0][0]


def test_max_calls_counts_every_request_and_stops_before_passing_it(tmp_path):
    """Through the CLI and real HTTP: server errors (retried by the client) and unusable
    replies (asked again) all count; no request past the limit is sent, with 4 in flight."""
    answers = iter(range(10_000))

    def flaky(request):
        k = next(answers)
        if k % 5 == 1:
            return {"status": 500}
        if k % 5 == 3:
            return {"text": ""}
        return nudging_model()(request)

    with FakeLLM(default=flaky) as server:
        problem = _problem(tmp_path, "llm:\n  retries: 2\n")
        run = tmp_path / "run"
        out = cli("run", problem, "--run-dir", run, "--budget", 200, "--workers", 4, "--max-calls", 9,
                  "--model", f"openai:nudge@{server.url}", "--set", "operator_choice=weights",
                  "--set", "llm.share=1.0", "--quiet")
        assert out.returncode == 0, out.stderr
        assert 0 < len(server.requests) <= 9
        assert _calls_sent(run) == len(server.requests)
        assert "stopped: max calls 9 reached" in out.stdout
        assert f"LLM calls: {len(server.requests)} of 9;" in out.stdout
        status = cli("status", run)
        assert f"LLM calls: {len(server.requests)} of 9; candidates: " in status.stdout
        assert "from built-in operators: 0%" in status.stdout

        more = cli("run", "--resume", run, "--max-calls", 15, "--quiet")
        assert more.returncode == 0, more.stderr
        assert 9 < len(server.requests) <= 15 and _calls_sent(run) == len(server.requests)

        # Below the calls already sent: said in one line, as a budget below the work done is.
        sent, config = _calls_sent(run), (run / "config.resolved.yaml").read_text()
        below = cli("run", "--resume", run, "--max-calls", 3, "--budget", 300)
        _one_line_error(below, f"max calls 3 is below the {sent} LLM calls this run has sent; nothing changed")
        assert below.returncode == 2 and (run / "config.resolved.yaml").read_text() == config


def test_max_calls_as_a_config_key_with_built_in_operators_beside(fake, tmp_path):
    fake.default = nudging_model()
    problem = _problem(tmp_path, "max_calls: 5\noperator_choice: weights\nllm: {share: 0.5}\n")
    out = cli("run", problem, "--run-dir", tmp_path / "run", "--model", f"openai:nudge@{fake.url}", "--quiet")
    assert out.returncode == 0, out.stderr
    assert len(fake.requests) <= 5 and "stopped: max calls 5 reached" in out.stdout
    store = Store.open(tmp_path / "run")
    total, builtin = store.rows("SELECT COUNT(*), SUM(operator NOT LIKE 'llm:%') FROM attempts WHERE seq > 0")[0]
    assert builtin > 0
    assert f"from built-in operators: {100 * builtin / total:.0f}%" in out.stdout


def test_a_run_stopped_by_max_calls_replays_identically(fake, tmp_path):
    """The replay sends nothing, so its call count never reaches the limit: it must stop
    where the source stopped, not run on to the budget with unrecorded candidates."""
    fake.default = nudging_model()
    run = tmp_path / "run"
    out = cli("run", _problem(tmp_path), "--run-dir", run, "--max-calls", 6, "--model",
              f"openai:nudge@{fake.url}", "--quiet")
    assert out.returncode == 0, out.stderr
    assert "stopped: max calls 6 reached" in out.stdout
    replay = cli("replay", run, "--run-dir", tmp_path / "replay", "--quiet")
    assert "sequence identical to the source" in replay.stdout, replay.stdout
    assert replay.returncode == 0


def test_max_calls_counts_a_request_cut_by_the_proposal_cap_across_resume(tmp_path):
    """A request cancelled in flight (the proposal cap) was sent: it counts in the store
    too, so a resume with the same limit sends nothing more."""
    with FakeLLM(default={"sleep": 12, "text": "late"}) as server:
        problem = _problem(tmp_path, "llm: {proposal_timeout: 3, request_timeout: 30, retries: 0}\n")
        run = tmp_path / "run"
        flags = ["--max-calls", 2, "--model", f"openai:slow@{server.url}", "--set", "operator_choice=weights",
                 "--set", "llm.share=1.0", "--quiet"]
        out = cli("run", problem, "--run-dir", run, "--budget", 50, *flags)
        assert out.returncode == 0, out.stderr
        assert _calls_sent(run) == 2 and len(server.requests) <= 2
        sent = len(server.requests)
        more = cli("run", "--resume", run, *flags)
        assert more.returncode == 0, more.stderr
        assert len(server.requests) == sent and _calls_sent(run) == 2, "the resume sent requests past max_calls"


def test_max_calls_asks_no_proposal_it_cannot_send(fake, tmp_path):
    """With one request per proposal and 8 in flight, each proposal reserves its request:
    the run asks exactly max_calls LLM proposals, none failing for want of a call."""
    fake.default = nudging_model()
    problem = _problem(tmp_path, "llm: {retry_with_error: false, retries: 0}\n")
    out = cli("run", problem, "--run-dir", tmp_path / "run", "--budget", 100, "--workers", 8, "--max-calls", 3,
              "--model", f"openai:nudge@{fake.url}", "--set", "operator_choice=weights", "--set", "llm.share=1.0",
              "--quiet")
    assert out.returncode == 0, out.stderr
    attempts = Store.open(tmp_path / "run").attempts()
    assert len(fake.requests) == 3 and len([a for a in attempts if a.seq > 0]) == 3
    assert not [a.reason for a in attempts if "not sent" in (a.reason or "")]


def test_bad_max_calls_is_one_line(tmp_path):
    _one_line_error(cli("run", _problem(tmp_path), "--run-dir", tmp_path / "a", "--max-calls", 0), "max_calls")


def test_prompts_show_the_parents_failed_children_with_their_tracebacks(fake, tmp_path):
    """In a real run the parent is a valid elite; what the model needs to see is what its
    children did: their changed lines, and the traceback tail of those that crashed."""
    crash = "<<<<<<< SEARCH\n    return x, y\n=======\n    return x / 0, y\n>>>>>>> REPLACE\n"
    answers = iter(range(10_000))

    def respond(request):
        return {"text": crash} if next(answers) % 3 == 0 else nudging_model()(request)

    fake.default = respond
    result = cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", budget=12, workers=1,
                             llm__models=_models(fake), operator_choice="weights", llm__share=1.0,
                             llm__formats={"diff": 1.0})
    assert any(p.status == "error" for p in result.store.programs())
    prompts = [r["messages"][1]["content"] for r in fake.requests]
    shown = [p for p in prompts if "Traceback (last lines):" in p]
    assert shown, "no prompt showed a failed child's traceback"
    assert "ZeroDivisionError: float division by zero" in shown[-1]
    assert "  +    return x / 0, y" in shown[-1]  # the failed child's changed line
    assert 'File "program.py", line 6, in solve' in shown[-1]  # no scratch directory: replay sees the same
    assert any("ok: scored" in p.split("## Already tried", 1)[-1] and "```diff" in p for p in prompts)
    replay = cli("replay", result.run_dir, "--run-dir", tmp_path / "replay", "--quiet")
    assert "sequence identical to the source" in replay.stdout, replay.stdout + replay.stderr


def test_a_reply_giving_back_a_stored_program_is_asked_again_and_replays(fake, tmp_path):
    """Nudges often step back to a program already evaluated (the grandparent): that reply
    is asked again with the reason, and what counts as stored is fixed when the proposal
    is asked, so the replay is identical."""
    fake.default = nudging_model()
    result = cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", budget=40, llm__models=_models(fake),
                             operator_choice="weights", llm__share=1.0)
    asked_again = [r for r in fake.requests
                   if "gives back a program already evaluated (candidate" in r["messages"][-1]["content"]]
    assert asked_again
    outcomes = dict(result.store.rows("SELECT outcome, COUNT(*) FROM attempts WHERE seq > 0 GROUP BY outcome"))
    assert outcomes.get("duplicate", 0) < len(asked_again)
    replay = cli("replay", result.run_dir, "--run-dir", tmp_path / "replay", "--quiet")
    assert "sequence identical to the source" in replay.stdout, replay.stdout + replay.stderr


def test_prompts_of_a_stalled_island_show_the_other_islands_best_labelled(fake, tmp_path):
    """In a real run of the default search: once the first island stalls and a second
    one opens and stalls too, its prompts show the other island's best, said to be a
    separate lineage (the leader is shown only an island that caught up with it)."""
    crash = "<<<<<<< SEARCH\n    return x, y\n=======\n    return x / 0, y\n>>>>>>> REPLACE\n"
    answers = iter(range(10_000))

    def respond(request):  # the first child may improve; every later one crashes: the island stalls
        return nudging_model()(request) if next(answers) < 2 else {"text": crash}

    fake.default = respond
    result = cambrian.evolve(_problem(tmp_path), run_dir=tmp_path / "run", budget=16, workers=1,
                             llm__models=_models(fake), operator_choice="weights", llm__share=1.0,
                             llm__formats={"diff": 1.0}, search__min_patience=3, search__max_islands=2,
                             search__explore_share=1.0)
    assert result.store.programs()
    prompts = [r["messages"][1]["content"] for r in fake.requests]
    labelled = [p for p in prompts if "a separate lineage" in p]
    assert labelled, "no prompt showed another island's best"
    assert any("the best of island 1, a separate lineage" in p or "the best of island 0, a separate lineage" in p
               for p in labelled)
