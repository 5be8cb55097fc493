"""Built-in operators that need no LLM: cheap arms beside the LLM ones.

All of them edit token spans that lie inside the evolve regions, so the fixed code
cannot change; the runner checks that again for every candidate anyway. Python is read
with its own tokenizer; the files of a bundle in other languages (``cambrian.tree``) with
a scanner for C-like source (comments and strings skipped, a literal's suffix such as
``1.5f`` or ``10u`` kept); prose has no tokens.
"""

from __future__ import annotations

import io
import math
import re
import tokenize
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import tree
from ..config import CrossoverConfig, PerturbConfig
from ..program import Frame, Program, compile_error
from .base import Candidate, Context, ProposalFailure


@dataclass(frozen=True)
class Token:
    start: int  # character offsets in the program
    end: int
    kind: int
    text: str


def region_tokens(code: str) -> list[Token]:
    """Tokens lying wholly inside an evolve region, in source order."""
    spans = Frame.parse(code).region_spans()
    if tree.is_bundle(code):
        found, offset = [], 0
        for f in tree.unpack(code):
            offset += len(f.header)
            if not f.whole and not f.is_text:
                found += (_python_tokens if f.is_python else _clike_tokens)(f.text, offset, f.path)
            offset += len(f.text)
    else:
        found = _python_tokens(code, 0, "")
    return [t for t in found if any(a <= t.start and t.end <= b for a, b in spans)]


def _python_tokens(code: str, offset: int, path: str) -> list[Token]:
    line_starts = [0]
    for line in code.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            start = line_starts[tok.start[0] - 1] + tok.start[1]
            end = line_starts[tok.end[0] - 1] + tok.end[1]
            out.append(Token(offset + start, offset + end, tok.type, tok.string))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    return out


CLIKE = -1  # the kind of a swappable operator or name found by the C-like scanner
_LINE_COMMENT = {**dict.fromkeys((".hs", ".lua", ".sql", ".elm", ".ada", ".adb", ".vhd"), "--"),
                 **dict.fromkeys((".m", ".tex", ".erl", ".pro"), "%"),
                 **dict.fromkeys((".lisp", ".scm", ".clj", ".el", ".asm", ".s"), ";"),
                 **dict.fromkeys((".sh", ".bash", ".r", ".jl", ".rb", ".awk", ".pl", ".tcl", ".nim", ".ex", ".exs",
                                  ".ps1", ".cr", ".yaml", ".yml", ".toml", ".cfg", ".mk", ".cmake"), "#"),
                 **dict.fromkeys((".f", ".f90", ".f95", ".f03"), "!")}
_C_SWAPS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "+": "-", "-": "+", "*": "/", "/": "*",
            "&&": "||", "||": "&&", "fmin": "fmax", "fmax": "fmin", "true": "false", "false": "true"}


def _clike_scanner(leader: str) -> re.Pattern[str]:
    return re.compile(
        r"(?P<skip>" + re.escape(leader) + r"[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')"
        r"|(?<![\w.])(?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)[fFlLuU]*(?![\w.])"
        r"|(?<=\s)(?P<op><=|>=|<|>|\+|-|\*|/|&&|\|\|)(?=\s)"
        r"|\b(?P<name>fmin|fmax|true|false)\b", re.DOTALL)


def _clike_tokens(code: str, offset: int, path: str) -> list[Token]:
    """Numeric literals (the span excludes a type suffix, so a new value keeps it) and
    swappable operators written with spaces around them (so never a unary minus, a pointer
    or ``++``), outside comments and string literals."""
    ext = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    out = []
    for m in _clike_scanner(_LINE_COMMENT.get(ext, "//")).finditer(code):
        group = m.lastgroup
        if group == "num":
            out.append(Token(offset + m.start("num"), offset + m.end("num"), tokenize.NUMBER, m.group("num")))
        elif group in ("op", "name"):
            out.append(Token(offset + m.start(group), offset + m.end(group), CLIKE, m.group(group)))
    return out


def _literal(token: Token) -> int | float | None:
    text = token.text.replace("_", "").lower()
    if token.kind != tokenize.NUMBER or text.endswith("j") or text[:2] in ("0x", "0o", "0b"):
        return None
    try:
        return int(text) if text.isdigit() else float(text)
    except ValueError:
        return None


def constants(code: str) -> list[tuple[Token, int | float]]:
    """Numeric literals (ints and floats) inside the evolve regions."""
    return [(t, v) for t in region_tokens(code) if (v := _literal(t)) is not None]


def format_number(value: int | float, *, power_base: bool = False) -> str:
    """Source text for ``value`` in place of a literal; a negative base of ``**`` is
    parenthesized so ``-x ** 2`` cannot silently mean ``-(x ** 2)``."""
    if isinstance(value, int):
        text = str(value)
    else:
        text = f"{value:.10g}"
        text = text if any(c in text for c in ".en") else text + ".0"
    return f"({text})" if power_base and value < 0 else text


def _before_power(code: str, token: Token) -> bool:
    return code[token.end:].lstrip(" \t").startswith("**")


def replace_spans(code: str, edits: Sequence[tuple[Token, str]]) -> str:
    for token, text in sorted(edits, key=lambda e: -e[0].start):
        code = code[: token.start] + text + code[token.end :]
    return code


def _parses(code: str) -> bool:
    return compile_error(code) is None


class Perturb:
    """Move a few numeric constants: relative Gaussian or log-scale steps for floats,
    integer steps for ints."""

    name = "perturb"
    needs_mate = False

    def __init__(self, config: PerturbConfig = PerturbConfig()):
        self.config = config

    def step(self, value: int | float, rng: np.random.Generator) -> int | float:
        sigma = self.config.sigma
        if isinstance(value, int):
            # Integers are mostly counts and indices: step, but never below zero.
            size = max(1, int(round(abs(value) * sigma * abs(rng.normal()))))
            return abs(value + int(rng.choice([-1, 1])) * size)
        if value != 0 and rng.random() < self.config.log_scale_prob:
            return float(value * math.exp(sigma * 3 * rng.normal()))
        # Additive steps may cross zero: a literal's sign is part of what is searched.
        return float(value + sigma * (abs(value) if value != 0 else 1.0) * rng.normal())

    async def propose(self, parent: Program, inspirations: Sequence[Program], context: Context,
                      rng: np.random.Generator) -> Candidate | ProposalFailure:
        found = constants(parent.code)
        if not found:
            return ProposalFailure("no numeric constants inside the evolve regions")
        count = int(rng.integers(1, min(self.config.max_constants, len(found)) + 1))
        picks = sorted(rng.choice(len(found), size=count, replace=False))
        edits = []
        for i in picks:
            token, value = found[i]
            new = self.step(value, rng)
            if new != value:
                edits.append((token, format_number(new, power_base=_before_power(parent.code, token))))
        if not edits:
            return ProposalFailure("perturbation left every chosen constant unchanged")
        return Candidate(replace_spans(parent.code, edits), note=f"{len(edits)} constants")


class Crossover:
    """Uniform crossover of constants between the parent and one inspiration of the
    same shape (same number of constants in the regions)."""

    name = "crossover"
    needs_mate = True

    def __init__(self, config: CrossoverConfig = CrossoverConfig()):
        self.config = config

    async def propose(self, parent: Program, inspirations: Sequence[Program], context: Context,
                      rng: np.random.Generator) -> Candidate | ProposalFailure:
        if not inspirations:
            return ProposalFailure("crossover needs an inspiration")
        mine = constants(parent.code)
        for mate in inspirations:
            theirs = constants(mate.code)
            if len(theirs) != len(mine):
                continue
            differing = [i for i, (a, b) in enumerate(zip(mine, theirs)) if a[1] != b[1]]
            if not differing:
                continue
            take = [i for i in differing if rng.random() < self.config.rate]
            if not take:
                take = [differing[int(rng.integers(len(differing)))]]
            edits = [(mine[i][0], theirs[i][0].text) for i in take]
            return Candidate(replace_spans(parent.code, edits), note=f"{len(take)} from {mate.id}")
        return ProposalFailure("no inspiration with the same constant layout and different values")


_SWAPS = {
    "+": "-", "-": "+", "*": "/", "/": "*", "<": "<=", "<=": "<", ">": ">=", ">=": ">",
    "min": "max", "max": "min", "True": "False", "False": "True", "and": "or", "or": "and",
}
_BLOCK_START = ("def ", "class ", "if ", "elif ", "else", "for ", "while ", "with ", "try",
                "except", "finally", "return", "yield", "break", "continue", "@", "#")


class Structural:
    """Change the code's shape: swap an operator or a builtin for its counterpart, or
    exchange two adjacent simple statements. Only parseable results are returned."""

    name = "structural"
    needs_mate = False
    attempts = 12

    def sites(self, code: str) -> list[tuple[str, object]]:
        sites: list[tuple[str, object]] = [
            ("swap", t) for t in region_tokens(code)
            if (t.text in _SWAPS and t.kind in (tokenize.OP, tokenize.NAME)) or (t.kind == CLIKE and t.text in _C_SWAPS)
        ]
        frame = Frame.parse(code)
        for (start, _), region in zip(frame.region_spans(), frame.regions):
            lines = region.splitlines(keepends=True)
            offset = start
            for a, b in zip(lines, lines[1:]):
                if _simple(a) and _simple(b) and _indent(a) == _indent(b):
                    sites.append(("exchange", (offset, a, b)))
                offset += len(a)
        return sites

    async def propose(self, parent: Program, inspirations: Sequence[Program], context: Context,
                      rng: np.random.Generator) -> Candidate | ProposalFailure:
        sites = self.sites(parent.code)
        if not sites:
            return ProposalFailure("no structural edit site inside the evolve regions")
        order = rng.permutation(len(sites))[: self.attempts]
        for i in order:
            kind, site = sites[int(i)]
            if kind == "swap":
                assert isinstance(site, Token)
                new = (_C_SWAPS if site.kind == CLIKE else _SWAPS)[site.text]
                code = replace_spans(parent.code, [(site, new)])
                note = f"{site.text} -> {new}"
            else:
                offset, a, b = site  # type: ignore[misc]
                code = parent.code[:offset] + b + a + parent.code[offset + len(a) + len(b):]
                note = "exchanged two statements"
            if code != parent.code and _parses(code):
                return Candidate(code, note=note)
        return ProposalFailure(f"none of {len(order)} structural edits gave a parseable program")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _simple(line: str) -> bool:
    text = line.strip()
    return bool(text) and not text.startswith(_BLOCK_START) \
        and not text.endswith((":", "\\", "(", "[", "{", ","))
