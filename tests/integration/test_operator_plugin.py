"""Any object with the operator interface plugs into the runner; the runner, not the
operator, enforces the evolve regions."""

import asyncio

from cambrian.operators import Candidate, ProposalFailure
from cambrian.session import build_runner, prepare


class Rogue:
    """Edits outside the regions, raises, returns garbage, or makes a real change, in turn."""

    name = "rogue"
    needs_mate = False

    async def propose(self, parent, inspirations, context, rng):
        kind = int(rng.integers(4))
        if kind == 0:
            return Candidate("import os\n" + parent.code)
        if kind == 1:
            raise RuntimeError("operator bug")
        if kind == 2:
            return Candidate(parent.code.replace("x = ", "x = (", 1))
        value = float(rng.normal())
        return Candidate(parent.code.replace("y = -2.0", f"y = {value!r}")) if "y = -2.0" in parent.code \
            else ProposalFailure("nothing left to change")


def test_runner_enforces_regions_and_survives_a_bad_operator(quadratic, tmp_path):
    problem, config, store, run_path = prepare(quadratic, overrides={"budget": 30}, run_dir=tmp_path / "run")
    runner = build_runner(problem, config, store, run_path)
    runner.operators = {name: Rogue() for name in runner.operators}
    stats = asyncio.run(runner.run(problem.initial_code))
    assert stats.candidates == 30
    programs = store.programs()
    rejected = [p for p in programs if p.status == "rejected"]
    reasons = {p.reason.split(" (")[0].split(" on line")[0] for p in rejected}
    assert "edit outside the evolve regions" in reasons
    assert any(r.startswith("syntax error") for r in reasons)
    failed = [a for a in store.attempts() if a.outcome == "failed"]
    assert any("operator raised RuntimeError: operator bug" in a.reason for a in failed)
    # Rejected programs were never run: no timing, no metrics.
    assert all(p.eval_seconds == 0 and not p.metrics for p in rejected)
    assert any(p.status == "ok" and p.operator in runner.operators for p in programs)
