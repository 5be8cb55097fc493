"""Programs: content-hash ids and the split into fixed code and evolve regions.

A program is a sequence of fixed segments and evolvable regions, delimited by
``EVOLVE-BLOCK-START`` / ``EVOLVE-BLOCK-END`` marker lines. Operators change only
regions; ``Frame`` makes "only regions changed" a checkable property of a child
rather than a promise of the operator that wrote it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from . import tree
from .errors import ProblemError

START = "EVOLVE-BLOCK-START"
END = "EVOLVE-BLOCK-END"
# A marker line in any comment syntax: # // -- ; % /* <!-- (* {- ! (the rest of the line is free).
_MARKER = re.compile(r"^\s*(?:#|//+|--+|;+|%+|/\*+|<!--|\(\*|\{-|!)\s*(EVOLVE-BLOCK-START|EVOLVE-BLOCK-END)\b")


def compile_error(code: str) -> str | None:
    """Why ``code`` does not compile, or None: the one check the runner, the built-in
    operators and the LLM operators share, so they agree on what a candidate's text may
    raise. A 3,000-term expression or deep nesting exhausts the compiler's recursion
    or the parser's stack; text that is not valid UTF-8 cannot be stored or run. A bundle
    (``cambrian.tree``) is checked file by file: its Python files compile, the rest are text
    the evaluator compiles (or reads) itself."""
    if tree.is_bundle(code):
        for f in tree.unpack(code):
            error = compile_error(f.text) if f.is_python else _utf8_error(f.text)
            if error is not None:
                return f"{f.path}: {error}"
        return None
    error = _utf8_error(code)
    if error is not None:
        return error
    try:
        compile(code, "<candidate>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = f" on line {exc.lineno}" if exc.lineno else ""
        return f"syntax error{line}: {exc.msg}"
    except ValueError as exc:  # null bytes (Python < 3.12)
        return f"syntax error: {exc}"
    except RecursionError:
        return "too deeply nested or too long an expression to compile (recursion limit)"
    except MemoryError:
        return "too deeply nested to compile (parser memory)"
    except OverflowError as exc:
        return f"does not compile: {exc}"
    return None


def _utf8_error(code: str) -> str | None:
    try:
        code.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"not valid UTF-8 text ({exc.reason} at character {exc.start})"
    return None


def program_id(code: str) -> str:
    """Content hash of a program: equal code, equal id, in every run."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Frame:
    """A program split into fixed text and evolve regions.

    ``fixed`` has one more element than ``regions``: the program is
    ``fixed[0] + regions[0] + fixed[1] + ... + fixed[-1]``. Marker lines belong
    to the fixed text, so a region can never remove or move a marker.
    """

    fixed: tuple[str, ...]
    regions: tuple[str, ...]

    @classmethod
    def parse(cls, code: str) -> "Frame":
        """Split ``code``; raise ``ProblemError`` for missing or unbalanced markers."""
        if tree.is_bundle(code):
            return cls._parse_bundle(code)
        fixed, regions = cls._split(code)
        if not regions:
            raise ProblemError(f"no evolve region: mark one with '# {START}' and '# {END}'")
        return cls(tuple(fixed), tuple(regions))

    @classmethod
    def _parse_bundle(cls, code: str) -> "Frame":
        """Each file on its own (markers pair within a file); a TEXT file is one region."""
        fixed, regions = [""], []
        for f in tree.unpack(code):
            fixed[-1] += f.header
            if f.whole:
                regions.append(f.text)
                fixed.append("")
                continue
            try:
                parts, found = cls._split(f.text)
            except ProblemError as exc:
                raise ProblemError(f"{f.path}: {exc}") from None
            fixed[-1] += parts[0]
            fixed += parts[1:]
            regions += found
        if not regions:
            raise ProblemError(f"no evolve region in any file: mark one with {START} / {END} in a comment")
        return cls(tuple(fixed), tuple(regions))

    @staticmethod
    def _split(code: str) -> tuple[list[str], list[str]]:
        fixed: list[str] = []
        regions: list[str] = []
        current: list[str] = []
        inside = False
        for lineno, line in enumerate(code.splitlines(keepends=True), start=1):
            match = _MARKER.match(line)
            if match is None:
                current.append(line)
                continue
            kind = match.group(1)
            if kind == START:
                if inside:
                    raise ProblemError(f"line {lineno}: {START} inside an open evolve block")
                current.append(line)
                fixed.append("".join(current))
                current = []
                inside = True
            else:
                if not inside:
                    raise ProblemError(f"line {lineno}: {END} without a matching {START}")
                regions.append("".join(current))
                current = [line]
                inside = False
        if inside:
            raise ProblemError(f"{START} is never closed by {END}")
        fixed.append("".join(current))
        return fixed, regions

    def join(self, regions: tuple[str, ...] | list[str]) -> str:
        """The program with these region texts in place of the current ones."""
        if len(regions) != len(self.regions):
            raise ValueError(f"expected {len(self.regions)} regions, got {len(regions)}")
        parts = [self.fixed[0]]
        for region, fixed in zip(regions, self.fixed[1:]):
            if region and not region.endswith("\n"):
                region += "\n"
            parts += [region, fixed]
        return "".join(parts)

    @property
    def code(self) -> str:
        return self.join(self.regions)

    def region_spans(self) -> list[tuple[int, int]]:
        """Character offsets ``[start, end)`` of each region in ``self.code``."""
        spans, pos = [], 0
        for fixed, region in zip(self.fixed, self.regions):
            pos += len(fixed)
            spans.append((pos, pos + len(region)))
            pos += len(region)
        return spans


def outside_change(parent: str, child: str) -> str | None:
    """Why ``child`` is not ``parent`` with only its regions changed, or None."""
    try:
        a = Frame.parse(parent)
        b = Frame.parse(child)
    except ProblemError as exc:
        return f"evolve markers damaged: {exc}"
    if tree.paths(parent) != tree.paths(child):
        return "the edit adds, removes or renames a file (only the evolve regions may change)"
    if len(a.regions) != len(b.regions):
        return f"evolve region count changed from {len(a.regions)} to {len(b.regions)}"
    for i, (x, y) in enumerate(zip(a.fixed, b.fixed)):
        if x != y:
            line = _first_diff_line(x, y)
            return f"edit outside the evolve regions (fixed segment {i}, line {line})"
    return None


def _first_diff_line(a: str, b: str) -> int:
    for n, (x, y) in enumerate(zip(a.splitlines(), b.splitlines()), start=1):
        if x != y:
            return n
    return min(len(a.splitlines()), len(b.splitlines())) + 1


@dataclass(frozen=True, init=False)  # frozen: operators, plugins included, get the store's
class Program:                        # cached object, which nothing may change
    """A stored program and what its evaluation said: a value, never changed once made."""

    id: str
    code: str
    parent_id: str | None
    operator: str
    generation: int
    island: int
    status: str                      # ok | invalid | error | timeout | rejected
    reason: str = ""
    score: float | None = None
    metrics: dict = None  # type: ignore[assignment]
    feedback: dict = None  # type: ignore[assignment]
    seq: int = 0
    eval_seconds: float = 0.0
    fingerprint: str | None = None

    # Written out (the fields above, in order; a test compares): one is made per candidate, and
    # a frozen dataclass's own __init__ sets each field through object.__setattr__ (3.8 us, 1.6 here).
    def __init__(self, id: str, code: str, parent_id: str | None, operator: str, generation: int, island: int,
                 status: str, reason: str = "", score: float | None = None, metrics: dict | None = None,
                 feedback: dict | None = None, seq: int = 0, eval_seconds: float = 0.0,
                 fingerprint: str | None = None) -> None:
        self.__dict__.update(id=id, code=code, parent_id=parent_id, operator=operator, generation=generation,
                             island=island, status=status, reason=reason, score=score,
                             metrics={} if metrics is None else metrics,
                             feedback={} if feedback is None else feedback,
                             seq=seq, eval_seconds=eval_seconds, fingerprint=fingerprint)
