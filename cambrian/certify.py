"""Certified scoring for benchmark evaluators: strict input checks, the record gate.

A certified evaluator recomputes its score from the construction a program returns
and trusts nothing else the program says. The checks here turn whatever crossed
from the candidate into clean float64 (or int64) arrays, or raise ``Invalid`` with
a one-line reason: wrong type, shape or count, bools, complex numbers, NaN, inf,
subnormal (underflowing) values, and numbers too large for a float.

``report`` and ``invalid`` build the dict an ``evaluate()`` returns. An invalid
construction is returned without the objective, its reason under ``invalid``: the
program is stored as ``invalid`` and the reason reaches the prompts as feedback.

A score is a *record* only if it beats the best known value by more than the
improvement gate: ``GATE`` (1e-8 relative, what public leaderboards for these problems
use; differences below it come from feasibility tolerances, not better constructions)
or half a unit in the last published digit of the best known value, whichever is
larger. A published value is rounded: 0.96264 stands for anything in [0.962635,
0.962645), so 0.9626404 merely matches it. Published values are therefore
``anchor("0.96264")``: a float that keeps the precision of the text it came from.
A plain float is an exact anchor (a proven bound such as 0, or a value the evaluator
computes), gated by ``GATE`` alone.
"""

from __future__ import annotations

import math
import numbers
import os
from decimal import Decimal, InvalidOperation
from typing import Any, Sequence

import numpy as np

GATE = 1e-8
POLISH_ENV = "CAMBRIAN_POLISH"
_TINY = np.finfo(np.float64).tiny


class Invalid(ValueError):
    """A construction that fails a check; the message says why, in one line."""


def _plain_number(x: Any) -> bool:
    return isinstance(x, (numbers.Integral, numbers.Real)) and not isinstance(x, (bool, np.bool_))


def _as_numeric(value: Any, name: str, *, integer: bool) -> np.ndarray:
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (list, tuple)):
        try:
            array = np.array(value, dtype=object)
        except (ValueError, TypeError) as exc:
            raise Invalid(f"{name}: not a rectangular array ({exc})") from None
    else:
        raise Invalid(f"{name}: expected a list or an array of numbers, got {type(value).__name__}")
    kind = array.dtype.kind
    if kind == "b":
        raise Invalid(f"{name}: booleans are not numbers here")
    if kind == "c":
        raise Invalid(f"{name}: complex values are not allowed")
    if kind == "O":
        for kind_of in set(map(type, array.flat)):   # one check per type, not per element
            x = next(v for v in array.flat if type(v) is kind_of)
            if isinstance(x, (complex, np.complexfloating)):
                raise Invalid(f"{name}: complex value {x!r}")
            if not _plain_number(x):
                raise Invalid(f"{name}: {type(x).__name__} value {_short(x)} is not a real number")
            if integer and not isinstance(x, numbers.Integral):
                raise Invalid(f"{name}: {x!r} is not an integer")
    elif kind not in ("i", "u") and not (kind == "f" and not integer):
        raise Invalid(f"{name}: values of type {array.dtype} are not {'integers' if integer else 'real numbers'}")
    try:
        out = np.array(array, dtype=np.int64 if integer else np.float64)
    except (OverflowError, ValueError, TypeError) as exc:
        raise Invalid(f"{name}: a value does not fit a 64-bit number ({exc})") from None
    return out


def real_array(value: Any, *, name: str, shape: Sequence[int | None] | None = None,
               min_len: int | None = None, max_len: int | None = None) -> np.ndarray:
    """A fresh float64 array of finite, normal-or-zero reals, of the given shape
    (``None`` in ``shape`` matches any size; ``min_len``/``max_len`` bound the first axis)."""
    out = _as_numeric(value, name, integer=False)
    _check_shape(out, name, shape, min_len, max_len)
    if not np.isfinite(out).all():
        bad = out[~np.isfinite(out)].flat[0]
        raise Invalid(f"{name}: non-finite value {bad!r}")
    small = (out != 0) & (np.abs(out) < _TINY)
    if small.any():
        raise Invalid(f"{name}: value {out[small].flat[0]!r} underflows (subnormal)")
    return out


def integer_array(value: Any, *, name: str, shape: Sequence[int | None] | None = None) -> np.ndarray:
    """A fresh int64 array; floats (even 3.0), bools and complex numbers are rejected."""
    out = _as_numeric(value, name, integer=True)
    _check_shape(out, name, shape, None, None)
    return out


def real_number(value: Any, *, name: str) -> float:
    """A finite real number (not a bool, not complex, not an array)."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (complex, np.complexfloating)):
        raise Invalid(f"{name}: complex value {value!r}")
    if not _plain_number(value):
        raise Invalid(f"{name}: expected a real number, got {type(value).__name__}")
    try:
        out = float(value)
    except OverflowError:
        raise Invalid(f"{name}: {_short(value)} does not fit a float") from None
    if not math.isfinite(out):
        raise Invalid(f"{name}: non-finite value {out!r}")
    if out != 0 and abs(out) < _TINY:
        raise Invalid(f"{name}: value {out!r} underflows (subnormal)")
    return out


def _check_shape(out: np.ndarray, name: str, shape, min_len, max_len) -> None:
    if shape is not None:
        ok = out.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, out.shape))
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise Invalid(f"{name}: expected shape {want}, got {out.shape}")
    if min_len is not None and (out.ndim == 0 or out.shape[0] < min_len):
        raise Invalid(f"{name}: expected at least {min_len} values, got {out.shape[0] if out.ndim else 0}")
    if max_len is not None and out.ndim and out.shape[0] > max_len:
        raise Invalid(f"{name}: expected at most {max_len} values, got {out.shape[0]}")


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def finite_score(value: float, what: str = "score") -> float:
    """The recomputed score, checked once more: a non-finite result is the construction's fault."""
    value = float(value)
    if not math.isfinite(value):
        raise Invalid(f"{what} is not finite ({value!r}): a degenerate construction")
    return value


class Anchor(float):
    """A best known value as published: its float value and ``half_unit``, half a unit
    in its last published digit (``anchor("0.96264").half_unit == 5e-6``)."""

    text: str
    half_unit: float

    def __repr__(self) -> str:
        return f"anchor({self.text!r})"


def anchor(text: str) -> Anchor:
    """The published best known value ``text`` (a decimal string, e.g. ``"0.96264"``,
    ``"2.6359830"``: trailing zeros count as published digits)."""
    if not isinstance(text, str):
        raise TypeError(f"anchor() takes the value as published, a string, not {type(text).__name__}")
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"anchor(): {text!r} is not a decimal number") from None
    if not d.is_finite():
        raise ValueError(f"anchor(): {text!r} is not finite")
    out = Anchor(float(d))
    out.text = text.strip()
    out.half_unit = float(Decimal(5).scaleb(d.as_tuple().exponent - 1))
    return out


def record_margin(best_known: float, gate: float = GATE) -> float:
    """How far past ``best_known`` a score must be to count as a record: ``gate``
    relative, or half a unit in the anchor's last published digit if that is larger."""
    return max(gate * abs(best_known), getattr(best_known, "half_unit", 0.0))


def is_record(score: float, best_known: float, *, direction: str, gate: float = GATE) -> bool:
    """True if ``score`` beats ``best_known`` by more than ``record_margin``."""
    margin = record_margin(best_known, gate)
    return score > best_known + margin if direction == "maximize" else score < best_known - margin


def report(score: float, *, best_known: float, direction: str, objective: str = "combined_score",
           **extra: Any) -> dict[str, Any]:
    """The result of a valid construction: the objective, ``score_raw`` (the same number,
    kept apart from any polished score), ``record`` (1.0 past the gate) and a note."""
    record = is_record(score, best_known, direction=direction)
    gap = (score - best_known) / abs(best_known) if best_known else score
    shown = getattr(best_known, "text", f"{float(best_known):.10g}")
    margin = record_margin(best_known)
    needs = (f"{GATE:g} relative" if margin == GATE * abs(best_known)
             else f"{margin:g} (half a unit in its last published digit)")
    if record:
        note = f"record: {score:.10g} beats the best known {shown} by more than {needs}"
    else:
        versus = f"{gap:+.3%}" if best_known else f"{score - best_known:+.6g}"
        note = f"{score:.10g} vs best known {shown} ({versus}); a record must beat it by more than {needs}"
    out: dict[str, Any] = {objective: score, "score_raw": score, "record": 1.0 if record else 0.0,
                           "relative_gap": gap}
    out.update(extra)
    out["note"] = note
    return out


def invalid(reason: str, **extra: Any) -> dict[str, Any]:
    """The result of an invalid construction: the reason under ``invalid`` (and no objective).
    The program is stored ``invalid`` with the reason "the evaluator says: <reason>"."""
    return {"invalid": reason, **extra}


def polish_enabled() -> bool:
    """Opt-in polishing: the environment variable ``CAMBRIAN_POLISH=1`` (passed to the
    evaluator with ``evaluation.pass_env``)."""
    return os.environ.get(POLISH_ENV, "") not in ("", "0", "false", "no")


def unchanged(before: np.ndarray, after: Any, name: str) -> None:
    """Raise ``Invalid`` if an input the evaluator handed to the program was modified."""
    if not isinstance(after, np.ndarray) or after.shape != before.shape or not np.array_equal(after, before):
        raise Invalid(f"the program modified its input {name}")


__all__ = ["GATE", "Anchor", "Invalid", "anchor", "record_margin", "POLISH_ENV", "finite_score", "integer_array", "invalid", "is_record",
           "polish_enabled", "real_array", "real_number", "report", "unchanged"]
