"""Turn a model's reply into a child program: SEARCH/REPLACE diffs or region rewrites.

Pure functions. Every way a reply can fail to become a child is an ``EditFailure``
with a reason, never an exception and never the parent returned as the child.
Edits land inside the evolve regions only: a SEARCH block that matches only outside
them fails, and a rewrite replaces region texts, never the fixed code around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ProblemError
from .program import END, START, Frame


@dataclass(frozen=True)
class EditFailure:
    reason: str


_BLOCK = re.compile(
    r"^[ \t]*<{5,9}[ \t]*SEARCH[ \t]*\n(?P<search>.*?)^[ \t]*={5,9}[ \t]*\n(?P<replace>.*?)^[ \t]*>{5,9}[ \t]*REPLACE[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*[ \t]*\n(.*?)```", re.DOTALL)


def parse_search_replace(reply: str) -> list[tuple[str, str]]:
    """(search, replace) pairs in reply order."""
    return [(m.group("search"), m.group("replace")) for m in _BLOCK.finditer(reply)]


def apply_search_replace(code: str, reply: str) -> str | EditFailure:
    blocks = parse_search_replace(reply)
    if not blocks:
        return EditFailure("no SEARCH/REPLACE block in the reply")
    for number, (search, replace) in enumerate(blocks, start=1):
        if not search.strip():
            return EditFailure(f"SEARCH block {number} is empty")
        result = _apply_one(code, search, replace, number)
        if isinstance(result, EditFailure):
            return result
        code = result
    return code


def _apply_one(code: str, search: str, replace: str, number: int) -> str | EditFailure:
    spans = Frame.parse(code).region_spans()

    def inside(start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in spans)

    exact = [m.start() for m in re.finditer(re.escape(search), code)]
    hits = [s for s in exact if inside(s, s + len(search))]
    if len(hits) == 1:
        return code[: hits[0]] + replace + code[hits[0] + len(search):]
    if len(hits) > 1:
        return EditFailure(f"SEARCH block {number} matches {len(hits)} places in the evolve regions")
    # Whitespace-tolerant: the same lines up to indentation and trailing spaces.
    loose = _loose_matches(code, search)
    loose_hits = [(s, e, shift) for s, e, shift in loose if inside(s, e)]
    if len(loose_hits) == 1:
        start, end, shift = loose_hits[0]
        return code[:start] + _reindent(replace, shift) + code[end:]
    if len(loose_hits) > 1:
        return EditFailure(f"SEARCH block {number} matches {len(loose_hits)} places (ignoring whitespace)")
    if exact or loose:
        return EditFailure(f"SEARCH block {number} matches only outside the evolve regions")
    return EditFailure(f"SEARCH block {number} not found in the program")


def _loose_matches(code: str, search: str) -> list[tuple[int, int, str]]:
    """(start, end, indentation shift) of every line-wise match ignoring indentation."""
    want = [line.strip() for line in search.strip("\n").splitlines()]
    if not want:
        return []
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    found = []
    for i in range(len(lines) - len(want) + 1):
        if all(lines[i + j].strip() == w for j, w in enumerate(want)):
            first = search.strip("\n").splitlines()[0]
            shift = _indent(lines[i])[: max(0, len(_indent(lines[i])) - len(_indent(first)))]
            found.append((offsets[i], offsets[i + len(want)], shift))
    return found


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindent(text: str, shift: str) -> str:
    body = "".join(shift + line if line.strip() else line for line in text.splitlines(keepends=True))
    return body if body.endswith("\n") or not body else body + "\n"


def parse_rewrite(reply: str, regions: int) -> list[str] | EditFailure:
    """New region texts from a reply's code: one fenced block per region, or one block
    (or a whole program) holding every region between evolve markers."""
    fences = _FENCE.findall(reply)
    if not fences:
        return EditFailure("no fenced code block in the reply")
    for text in fences:
        if START in text:
            try:
                frame = Frame.parse(text)
            except ProblemError as exc:
                return EditFailure(f"rewrite has broken evolve markers: {exc}")
            if len(frame.regions) != regions:
                return EditFailure(f"rewrite has {len(frame.regions)} evolve region(s); the program has {regions}")
            return list(frame.regions)
    if regions == 1:
        return [fences[-1]]
    if len(fences) == regions:
        return list(fences)
    return EditFailure(f"rewrite gives {len(fences)} code blocks for {regions} evolve regions "
                       f"(mark them with # {START} / # {END})")


def apply_rewrite(code: str, reply: str) -> str | EditFailure:
    frame = Frame.parse(code)
    regions = parse_rewrite(reply, len(frame.regions))
    if isinstance(regions, EditFailure):
        return regions
    fitted = [_fit_indent(new, old) for new, old in zip(regions, frame.regions)]
    return frame.join(fitted)


def _fit_indent(new: str, old: str) -> str:
    """Indent a rewritten region like the region it replaces (models often dedent)."""
    old_lines = [line for line in old.splitlines() if line.strip()]
    new_lines = [line for line in new.splitlines() if line.strip()]
    if not old_lines or not new_lines:
        return new
    want = min(len(_indent(line)) for line in old_lines)
    have = min(len(_indent(line)) for line in new_lines)
    if have >= want:
        return new
    return _reindent(new, " " * (want - have))
