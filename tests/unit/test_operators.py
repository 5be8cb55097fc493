"""Contract tests: every built-in operator, the same promises."""

import asyncio

import numpy as np
import pytest

from cambrian import config
from cambrian.operators import Candidate, Context, ProposalFailure, build_operators
from cambrian.operators.local import Perturb, constants, format_number
from cambrian.program import Program, outside_change, program_id

CODE = """import math

def f(x):
    # EVOLVE-BLOCK-START
    a = 1.5
    b = 2
    c = a * x + b
    d = min(c, 10.0)
    return d - 0.25
    # EVOLVE-BLOCK-END

LIMIT = 99.0
"""
MATE = CODE.replace("a = 1.5", "a = 2.5").replace("b = 2\n", "b = 3\n")
CTX = Context(task="", objective="combined_score", direction="maximize")
ALL = build_operators(config.build({"operators": {"structural": {"weight": 1.0}, "tune": {"weight": 1.0}}}))


def _program(code: str) -> Program:
    return Program(program_id(code), code, None, "initial", 0, 0, "ok", score=1.0)


def _propose(op, seed: int, code: str = CODE):
    return asyncio.run(op.propose(_program(code), [_program(MATE)], CTX, np.random.default_rng(seed)))


@pytest.mark.parametrize("name", sorted(ALL))
def test_operator_contract(name):
    op = ALL[name]
    for seed in range(25):
        made = _propose(op, seed)
        assert isinstance(made, (Candidate, ProposalFailure))
        if isinstance(made, ProposalFailure):
            assert made.reason
            continue
        assert made.code != CODE, "never the parent as a change"
        assert outside_change(CODE, made.code) is None
        compile(made.code, "<candidate>", "exec")
        assert "LIMIT = 99.0" in made.code


@pytest.mark.parametrize("name", sorted(ALL))
def test_operator_is_deterministic_given_rng(name):
    assert _propose(ALL[name], 11) == _propose(ALL[name], 11)


@pytest.mark.parametrize("name", sorted(ALL))
def test_operator_without_material_fails_with_reason(name):
    bare = "def f():\n    # EVOLVE-BLOCK-START\n    pass\n    # EVOLVE-BLOCK-END\n"
    made = asyncio.run(ALL[name].propose(_program(bare), [], CTX, np.random.default_rng(0)))
    assert isinstance(made, ProposalFailure) and made.reason


def test_constants_only_inside_regions():
    assert [v for _, v in constants(CODE)] == [1.5, 2, 10.0, 0.25]


def test_negative_power_base_is_parenthesized():
    assert format_number(-0.5, power_base=True) == "(-0.5)"
    assert format_number(-0.5) == "-0.5"
    assert format_number(3.0) == "3.0"
    assert format_number(7) == "7"


def test_perturb_integers_stay_non_negative():
    op = Perturb()
    rng = np.random.default_rng(0)
    assert all(op.step(0, rng) >= 0 for _ in range(100))
    assert all(isinstance(op.step(5, rng), int) for _ in range(10))


def test_crossover_takes_values_from_the_mate():
    made = _propose(ALL["crossover"], 0)
    assert isinstance(made, Candidate)
    assert "a = 2.5" in made.code or "b = 3" in made.code


def test_tune_moves_every_float_by_the_mates_difference():
    from cambrian.operators.tune import Tune

    op = Tune(config.TuneConfig(weight=1.0, f=0.5, cr=1.0))
    code = CODE.replace("d - 0.25", "d - 0.5")
    mate_a = CODE.replace("a = 1.5", "a = 3.5").replace("10.0", "12.0")
    made = asyncio.run(op.propose(_program(code), [_program(mate_a), _program(CODE)],
                                  CTX, np.random.default_rng(0)))
    values = [v for _, v in constants(made.code)]
    # parent + 0.5 * (mate_a - CODE), every float; the int b = 2 stays
    assert values == [1.5 + 0.5 * 2.0, 2, 10.0 + 0.5 * 2.0, 0.5]
    assert made.note.startswith("differential")


def test_tune_without_mates_moves_all_floats_a_little():
    from cambrian.operators.tune import Tune

    op = Tune(config.TuneConfig(weight=1.0, sigma=0.01))
    made = asyncio.run(op.propose(_program(CODE), [], CTX, np.random.default_rng(3)))
    old = [v for _, v in constants(CODE)]
    new = [v for _, v in constants(made.code)]
    floats = [i for i, v in enumerate(old) if isinstance(v, float)]
    assert all(new[i] != old[i] for i in floats) and new[1] == old[1]
    assert all(abs(new[i] - old[i]) < 0.1 * abs(old[i]) for i in floats)


def test_tune_is_opt_in():
    assert "tune" not in build_operators(config.build({}))
