"""Turn a model's reply into a child program: SEARCH/REPLACE diffs or region rewrites.

Pure functions. Every way a reply can fail to become a child is an ``EditFailure``
with a reason, never an exception and never the parent returned as the child.

A SEARCH block is applied where a person reading the reply would apply it. It is
matched against whole lines, in tiers, and the first tier that finds a place wins:

1. the same lines (trailing whitespace and line endings ignored);
2. the same lines with the indentation re-based: a block written less (or more)
   indented than the program matches if its lines keep their relative indentation,
   and its REPLACE is re-indented by the same shift (tabs or spaces, as the program);
3. the same lines ignoring indentation altogether;
4. a fragment of one line, only where it starts and ends on token boundaries
   (``a = 1.0`` never edits ``max_a = 1.0``).

More than one place in a tier is a failure that names the places, never a guess.
A block may quote fixed code around a region (the ``def`` line, the evolve markers)
as long as its REPLACE keeps that code (a marker at any indentation): only the lines
that change must lie inside a region. A rewrite may repeat the evolve markers; they are stripped and the new
region text is indented like the old one.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Callable

from . import tree
from .errors import ProblemError
from .program import END, START, Frame, _MARKER


@dataclass(frozen=True)
class EditFailure:
    reason: str


# -- parsing -------------------------------------------------------------------
# Whole lines (without their newline). A scan over lines, not one regex with two lazy
# groups: that backtracks cubically on a reply of openers and dividers with no closer.
_OPEN = re.compile(r"[ \t]*<{5,9}[ \t]*SEARCH[ \t:]*", re.IGNORECASE)
_DIVIDER = re.compile(r"[ \t]*={5,9}[ \t]*")
_CLOSE = re.compile(r"[ \t]*>{5,9}[ \t]*REPLACE[ \t:]*", re.IGNORECASE)
_OPENINGS = re.compile(r"^[ \t]*<{5,9}[ \t]*SEARCH\b", re.MULTILINE | re.IGNORECASE)
_FENCE_LINE = re.compile(r"^[ \t]*(```|~~~)[\w+.-]*[ \t]*$")
_FENCE = re.compile(r"^[ \t]*```(?P<lang>[\w+.-]*)[ \t]*\n(?P<code>.*?)(?:^[ \t]*```[ \t]*$|\Z)",
                    re.DOTALL | re.MULTILINE)
_PYTHON = ("", "python", "py", "python3")


def normalize_reply(reply: str) -> str:
    """Line endings as ``\\n`` and no byte-order mark: how replies arrive differs, what they say does not."""
    return reply.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


def _unfence(section: str) -> str:
    """A SEARCH or REPLACE part some models wrap in its own code fence."""
    lines = section.splitlines(keepends=True)
    if lines and _FENCE_LINE.match(lines[0]):
        lines = lines[1:]
    if lines and _FENCE_LINE.match(lines[-1]):
        lines = lines[:-1]
    return "".join(lines)


def _closed_blocks(reply: str, paths: tuple[str, ...] = ()) -> list[tuple[str, str, str | None]]:
    """The raw (search, replace, file) text of each closed block, in order: an opening line, the
    first divider line after it, the first closing line after that. Linear in the reply.
    ``file``: the one of ``paths`` named on the last non-blank, non-fence line before the
    opening (a multi-file program's blocks say which file they edit), else None."""
    lines = reply.split("\n")  # every element but the last was followed by a newline
    out: list[tuple[str, str, str | None]] = []

    def find(pattern: re.Pattern[str], start: int, stop: int) -> int | None:
        return next((j for j in range(start, stop) if pattern.fullmatch(lines[j])), None)

    i = 0
    while (opening := find(_OPEN, i, len(lines) - 1)) is not None:
        divider = find(_DIVIDER, opening + 1, len(lines) - 1)
        close = find(_CLOSE, divider + 1, len(lines)) if divider is not None else None
        if close is None:
            break  # no later opening can close either
        out.append(("".join(line + "\n" for line in lines[opening + 1:divider]),
                    "".join(line + "\n" for line in lines[divider + 1:close]),
                    _named_file(lines, opening, paths)))
        i = close + 1
    return out


def _named_file(lines: list[str], opening: int, paths: tuple[str, ...]) -> str | None:
    """The file a block names: the longest of ``paths`` on the line before it (a fence or a
    blank line in between is skipped), as ``src/a.c``, ``### `src/a.c` ``, ``File: src/a.c``..."""
    if not paths:
        return None
    j = opening - 1
    while j >= 0 and (not lines[j].strip() or _FENCE_LINE.match(lines[j])):
        j -= 1
    if j < 0:
        return None
    words = set(re.split(r"[\s`*'\":]+", lines[j]))
    named = [p for p in paths if p in words or any(w.endswith("/" + p) for w in words)]
    return max(named, key=len) if named else None


def parse_search_replace(reply: str) -> list[tuple[str, str]]:
    """(search, replace) pairs in reply order; a block repeated verbatim counts once."""
    return [(s, r) for s, r, _ in _file_blocks(reply, ())]


def _file_blocks(reply: str, paths: tuple[str, ...]) -> list[tuple[str, str, str | None]]:
    blocks = ((_unfence(search), _unfence(replace), file)
              for search, replace, file in _closed_blocks(normalize_reply(reply), paths))
    return list(dict.fromkeys(blocks))  # first occurrences, in order; a set, not a list scan


# -- SEARCH/REPLACE ------------------------------------------------------------
def apply_search_replace(code: str, reply: str) -> str | EditFailure:
    reply = normalize_reply(reply)
    paths = tree.paths(code)
    blocks = _file_blocks(reply, paths if len(paths) > 1 else ())
    opened = len(_OPENINGS.findall(reply))
    if not blocks:
        if opened:
            return EditFailure("a SEARCH block is not closed: each needs a ======= line and a >>>>>>> REPLACE line")
        return EditFailure("no SEARCH/REPLACE block in the reply")
    if opened > len(_closed_blocks(reply)):
        return EditFailure(f"SEARCH block {len(blocks) + 1} is not closed: each needs a ======= line "
                           "and a >>>>>>> REPLACE line")
    for number, (search, replace, file) in enumerate(blocks, start=1):
        result = _apply_one(code, search, replace, number, file)
        if isinstance(result, EditFailure):
            return result
        code = result
    return code


# A match: the code lines [start, end) and the lines that replace them.
_Match = tuple[int, int, list[str]]


def _apply_one(code: str, search: str, replace: str, number: int, file: str | None = None
               ) -> str | EditFailure:
    lines = _split(code)
    newline = "\r\n" if "\r\n" in code else "\n"
    want, put = _trim_blank(_split(search, keepends=False), _split(replace, keepends=False))
    if not want:
        return EditFailure(f"SEARCH block {number} is empty")
    want, put = _keep_quoted_markers(want, put)
    regions = _region_lines(code, file)
    misfits: list[tuple[int, int]] = []
    for tier in (_exact, _rebased, _unindented, _within_line):
        found = tier(lines, want, put)
        fits = []
        for match in found:
            changed = _changed(lines, match)
            if any(a <= changed[0] and changed[1] <= b for a, b in regions):
                fits.append(match)
            else:
                misfits.append(changed)
        if len(fits) == 1:
            start, end, new = fits[0]
            # Lines the REPLACE keeps stay as the program has them (trailing whitespace too):
            # quoting a fixed line without its trailing spaces does not change it.
            lo, hi = _changed(lines, fits[0])
            fresh = [_ending(line, newline) for line in new[lo - start: len(new) - (end - hi)]]
            return "".join(lines[:lo] + fresh + lines[hi:])
        if len(fits) > 1:
            if len(tree.paths(code)) > 1 and file is None:
                files = sorted({_file_at(code, m[0]) for m in fits})
                return EditFailure(f"SEARCH block {number} matches {len(fits)} places in the evolve regions "
                                   f"(in {', '.join(files)}); put the file's path on the line before "
                                   "the SEARCH block, or include more lines so it matches one")
            places = _places([m[0] + 1 for m in fits])
            return EditFailure(f"SEARCH block {number} matches {len(fits)} places in the evolve regions "
                               f"({places}); include more of the surrounding lines so it matches one")
    for lo, hi in misfits:
        if any(lo < b and a < max(hi, lo + 1) for a, b in regions):
            line = next(i for i in range(lo, max(hi, lo + 1)) if not any(a <= i < b for a, b in regions))
            return EditFailure(f"SEARCH block {number} would change line {line + 1} "
                               f"({lines[line].strip()!r}), outside the evolve regions; "
                               "its REPLACE must keep the lines outside them as they are")
    if misfits:
        return EditFailure(f"SEARCH block {number} matches only outside the evolve regions")
    where = f"in {file}" if file is not None else "in the program"
    return EditFailure(f"SEARCH block {number} not found {where}")


def _split(text: str, *, keepends: bool = True) -> list[str]:
    """Lines split at ``\n`` only (``str.splitlines`` also splits at form feeds and the like)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
        return [line + "\n" for line in lines] if keepends else lines
    return [line + "\n" for line in lines[:-1]] + lines[-1:] if keepends else lines


def _trim_blank(want: list[str], put: list[str]) -> tuple[list[str], list[str]]:
    """Drop blank lines around the SEARCH text, and as many around the REPLACE text."""
    def blank(line: str) -> bool:
        return not line.strip()

    lead = next((i for i, line in enumerate(want) if not blank(line)), len(want))
    want = want[lead:]
    trail = next((i for i, line in enumerate(reversed(want)) if not blank(line)), len(want))
    want = want[: len(want) - trail]
    for _ in range(lead):
        if put and blank(put[0]):
            put = put[1:]
    for _ in range(trail):
        if put and blank(put[-1]):
            put = put[:-1]
    return want, put


def _is_marker(line: str) -> bool:
    return _MARKER.match(line) is not None


def _keep_quoted_markers(want: list[str], put: list[str]) -> tuple[list[str], list[str]]:
    """A SEARCH that quotes the evolve markers with a REPLACE that omits them all means
    "replace the lines between": the markers are carried over into the REPLACE."""
    if any(_is_marker(line) for line in put):
        return want, put
    head = next((i for i, line in enumerate(want) if not _is_marker(line)), len(want))
    tail = next((i for i, line in enumerate(reversed(want)) if not _is_marker(line)), 0)
    if head == len(want):
        return want, put
    return want, want[:head] + put + (want[len(want) - tail:] if tail else [])


def _region_lines(code: str, file: str | None = None) -> list[tuple[int, int]]:
    """Each region as code lines [first, end): the lines between its two marker lines (in a
    bundle, the regions of every file, or of ``file`` only)."""
    if tree.is_bundle(code):
        return _bundle_region_lines(code, file)
    out, first = [], None
    for i, line in enumerate(_split(code)):
        m = _MARKER.match(line)
        if m and m.group(1) == START:
            first = i + 1
        elif m and first is not None:
            out.append((first, i))
            first = None
    return out


def _bundle_region_lines(code: str, file: str | None) -> list[tuple[int, int]]:
    frame = Frame.parse(code)
    out = []
    for start, end in frame.region_spans():
        first, last = code.count("\n", 0, start), code.count("\n", 0, end)
        if file is None or _file_at(code, first) == file:
            out.append((first, last))
    return out


def _file_at(code: str, line: int) -> str:
    """The path of the bundle file that holds code line ``line`` (0-based)."""
    name = ""
    for i, text in enumerate(_split(code)):
        if i > line:
            break
        if tree.is_bundle(text):
            name = tree.paths(text)[0]
    return name


def _changed(lines: list[str], match: _Match) -> tuple[int, int]:
    """The code lines [lo, hi) a match really changes: its lines minus those its REPLACE keeps
    at either end (an insertion has lo == hi)."""
    start, end, new = match
    old = [_kept_form(line) for line in lines[start:end]]
    fresh = [_kept_form(line) for line in new]
    keep = 0
    while keep < min(len(old), len(fresh)) and old[keep] == fresh[keep]:
        keep += 1
    tail = 0
    while tail < min(len(old), len(fresh)) - keep and old[-1 - tail] == fresh[-1 - tail]:
        tail += 1
    return start + keep, end - tail


def _kept_form(line: str) -> str:
    """What a REPLACE line must equal to keep the program's line: the line without its
    trailing whitespace; an evolve marker, a comment, without its indentation too."""
    return line.strip() if _is_marker(line) else line.rstrip()


def _places(line_numbers: list[int]) -> str:
    shown = [str(n) for n in line_numbers[:5]]
    more = f" and {len(line_numbers) - 5} more" if len(line_numbers) > 5 else ""
    return "lines " + ", ".join(shown) + more


def _ending(line: str, newline: str) -> str:
    return line.rstrip("\r\n") + newline


def _windows(lines: list[str], n: int):
    for i in range(len(lines) - n + 1):
        yield i, lines[i: i + n]


def _exact(lines: list[str], want: list[str], put: list[str]) -> list[_Match]:
    target = [line.rstrip() for line in want]
    places = [(i, window) for i, window in _windows(lines, len(want)) if [line.rstrip() for line in window] == target]
    if not places:
        return []   # the program's quoting and indentation are read only for a block that matches
    quotes = _open_quotes(lines)
    strings = [q is not None for q in quotes]
    nearest = _nearest_tabs(lines, strings)
    return [(i, i + len(want), _restyled(put, _tabbed(lines, strings, i, i + len(want), nearest),
                                         {line.rstrip() for line in window}, _in_strings(put, quotes[i])))
            for i, window in places]


def _restyled(put: list[str], tabs: bool, kept: set[str], strings: list[bool]) -> list[str]:
    """REPLACE lines indented with the program's character: a code line indented with
    spaces where the program uses tabs (or with tabs where it uses spaces) gets the same
    width in the program's (a mix does not parse). Left as written: a line that is one of
    the matched program lines (``kept``: an aligned continuation, say), and the text of a
    multi-line string (``strings``), unless code lines of the REPLACE were converted too
    (then the whole REPLACE was written in the other character, its strings included)."""
    wrong = " " * 4 if tabs else "\t"
    odd = [wrong in _indent(line) and line.rstrip() not in kept for line in put]
    if not any(o and not text for o, text in zip(odd, strings)):
        return list(put)
    return [_make_indent(_width(_indent(line)), tabs) + line.lstrip() if o else line for line, o in zip(put, odd)]


# Python's quoting, for ``_in_strings``: what opens a string or a comment outside one, the
# rest of a one-line string, and what closes a triple-quoted one (backslash escapes skipped).
_OPENER = re.compile("#|'''|\"\"\"|'|\"")
_ONE_LINE = {q: re.compile(rf"(?:\\.?|[^\\{q}])*(?:{q}|$)") for q in "'\""}
_CLOSER = {q: re.compile(rf"(?:\\.|[^\\])*?{q}", re.DOTALL) for q in ("'''", '"""')}


def _in_strings(lines: list[str], quote: str | None = None) -> list[bool]:
    """Whether each line starts inside a triple-quoted string: its leading whitespace is
    the string's text, not indentation (``quote``: the one open before the first line)."""
    return [q is not None for q in _open_quotes(lines, quote)]


def _open_quotes(lines: list[str], quote: str | None = None) -> list[str | None]:
    """The triple quote open at the start of each line (None: none). A scan of Python's
    quoting; in other languages it finds none (or the rest of a line), so nothing changes."""
    out: list[str | None] = []
    for line in lines:
        out.append(quote)
        pos = 0
        while True:
            if quote is not None:
                m = _CLOSER[quote].match(line, pos)
                if m is None:
                    break  # the string goes on past this line
                quote, pos = None, m.end()
                continue
            m = _OPENER.search(line, pos)
            if m is None or m.group() == "#":
                break
            if len(m.group()) == 3:
                quote, pos = m.group(), m.end()
            else:
                pos = _ONE_LINE[m.group()].match(line, m.end()).end()
    return out


def _code_lines(lines: list[str]) -> list[str]:
    """The non-blank lines that are code, not the text of a multi-line string."""
    return [line for line, text in zip(lines, _in_strings(lines)) if not text and line.strip()]


def _width(indent: str) -> int:
    return len(indent.expandtabs(4))


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _make_indent(width: int, tabs: bool) -> str:
    return "\t" * (width // 4) + " " * (width % 4) if tabs else " " * width


def _shifted(put: list[str], delta: int, tabs: bool, text: list[bool] | None = None) -> list[str] | None:
    """``put`` shifted by ``delta`` columns; None if a code line would go below column 0 (a
    line of a multi-line string's ``text`` stops at column 0)."""
    out = []
    for k, line in enumerate(put):
        if not line.strip():
            out.append("")
            continue
        width = _width(_indent(line)) + delta
        if width < 0 and text is not None and text[k]:
            width = 0
        if width < 0:
            return None
        out.append(_make_indent(width, tabs) + line.lstrip())
    return out


def _uses_tabs(window: list[str]) -> bool:
    return any("\t" in _indent(line) for line in window)


def _tabbed(lines: list[str], strings: list[bool], start: int, end: int, nearest: list[bool]) -> bool:
    """Whether the program indents with tabs where lines [start, end) are: as those lines do,
    or when none of them is indented (a ``def`` line), as the nearest indented line does
    (``nearest``: ``_nearest_tabs``; the body after a ``def``, in a program whose other
    functions may use the other character). Lines in a multi-line string (``strings``) are
    text, not indentation."""
    window = [line for line, text in zip(lines[start:end], strings[start:end]) if not text]
    if any(_indent(line.rstrip("\r\n")) for line in window):
        return _uses_tabs(window)
    return nearest[end]


def _nearest_tabs(lines: list[str], strings: list[bool]) -> list[bool]:
    """For each line (and the end), whether the first indented code line from it on uses
    tabs, or when none follows, the last one before it; once for all the places a block
    matches (a scan per place took 45 s at 20,000)."""
    indented = [None if text or not _indent(line.rstrip("\r\n")) else "\t" in _indent(line)
                for line, text in zip(lines, strings)]
    last = next((t for t in reversed(indented) if t is not None), False)
    out: list[bool] = [last] * (len(lines) + 1)   # the end, and lines with none after them: the last one
    for i in range(len(lines) - 1, -1, -1):
        last = indented[i] if indented[i] is not None else last
        out[i] = last
    return out


def _indent_tier(same_shape: bool) -> Callable[[list[str], list[str], list[str]], list[_Match]]:
    def tier(lines: list[str], want: list[str], put: list[str]) -> list[_Match]:
        content = [line.strip() for line in want]
        strings = nearest = None   # read once, at the first place that matches
        found = []
        for i, window in _windows(lines, len(want)):
            if [line.strip() for line in window] != content:
                continue
            deltas = {_width(_indent(c)) - _width(_indent(s)) for c, s in zip(window, want) if s.strip()}
            if same_shape and len(deltas) != 1:
                continue
            if not same_shape and len(deltas) == 1:
                continue  # tier 2 already saw it
            first = next(j for j, s in enumerate(want) if s.strip())
            delta = _width(_indent(window[first])) - _width(_indent(want[first]))
            if strings is None:
                strings = _in_strings(lines)
                nearest = _nearest_tabs(lines, strings)
            tabs = _tabbed(lines, strings, i, i + len(want), nearest)
            new = _shifted(put, delta, tabs) if same_shape else _aligned(window, want, put, delta, tabs)
            if new is not None:
                found.append((i, i + len(want), new))
        return found

    return tier


def _aligned(window: list[str], want: list[str], put: list[str], delta: int, tabs: bool) -> list[str] | None:
    """REPLACE lines for a SEARCH whose indentation says nothing (flattened, or nested by
    other steps than the program's): a line kept from the SEARCH, or written in place of one,
    takes the indentation of the program line it stands for; an added line keeps its own,
    shifted like the line before it."""
    a, b = [line.strip() for line in want], [line.strip() for line in put]
    stands_for: list[int | None] = [None] * len(put)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for k in range(j2 - j1):
                stands_for[j1 + k] = i1 + k
    out, shift = [], delta
    for line, i in zip(put, stands_for):
        if not line.strip():
            out.append("")
            continue
        if i is not None and a[i]:
            shift = _width(_indent(window[i])) - _width(_indent(line))
        width = _width(_indent(line)) + shift
        if width < 0:
            return None
        out.append(_make_indent(width, tabs) + line.lstrip())
    return out


_rebased = _indent_tier(same_shape=True)
_unindented = _indent_tier(same_shape=False)
_WORD = re.compile(r"\w")


def _within_line(lines: list[str], want: list[str], put: list[str]) -> list[_Match]:
    """A fragment of one line, bounded by non-word characters on the sides where it is a word."""
    if len(want) != 1 or len(put) > 1:
        return []
    fragment, new = want[0].strip(), (put[0].strip() if put else "")
    found = []
    for i, line in enumerate(lines):
        text = line.rstrip("\r\n")
        for m in re.finditer(re.escape(fragment), text):
            before = text[m.start() - 1] if m.start() else ""
            after = text[m.end()] if m.end() < len(text) else ""
            if _WORD.match(fragment[0]) and before and _WORD.match(before):
                continue
            if _WORD.match(fragment[-1]) and after and _WORD.match(after):
                continue
            found.append((i, i + 1, [text[: m.start()] + new + text[m.end():]]))
    return found


# -- rewrites ------------------------------------------------------------------
def _fences(reply: str, langs: tuple[str, ...] | None = _PYTHON) -> list[str]:
    """The reply's code blocks that can be program text: Python (or untagged) blocks, not
    SEARCH/REPLACE blocks, not shell commands or output in other tagged blocks. ``langs``:
    the tags taken (None: any, for text)."""
    found = [(m.group("lang").lower(), m.group("code")) for m in _FENCE.finditer(reply)]
    return [code for lang, code in found
            if (langs is None or lang in langs) and not _OPENINGS.search(code)]


_ALIASES = {"python": _PYTHON, "c": ("c", "h", "cpp", "c++"), "cpp": ("cpp", "c++", "cxx", "cc", "c"),
            "javascript": ("js", "javascript", "jsx"), "typescript": ("ts", "typescript", "tsx"),
            "rust": ("rust", "rs")}


def fence_tags(code: str) -> tuple[str, ...] | None:
    """The code-block tags a reply may use for this program's text (None: any)."""
    if not tree.is_bundle(code):
        return _PYTHON
    if tree.kind(code) == "text":
        return None
    tags = {""}
    for f in tree.unpack(code):
        tags |= {f.fence, f.path.rsplit(".", 1)[-1].lower()} | set(_ALIASES.get(f.fence, ()))
    return tuple(sorted(tags))


def parse_rewrite(reply: str, regions: int, current: list[str] | None = None,
                  langs: tuple[str, ...] | None = _PYTHON) -> list[str] | EditFailure:
    """New region texts from a reply's code: one fenced block per region, or one block
    (or a whole program) holding every region between evolve markers. For one region
    given by several unmarked blocks, ``_answer`` picks the block (``current``: the
    program's regions now)."""
    reply = normalize_reply(reply)
    fences = _fences(reply, langs)
    if not fences:
        if START in reply or END in reply:
            fences = [reply]  # code given without a fence, markers and all
        else:
            return EditFailure("no fenced code block in the reply")
    if current is not None:
        # A block that restates the program as it is (markers and all) is a quote, not the
        # answer, when the reply gives other code that can be the answer.
        answers = [text for text in fences if not _quotes(text, current)]
        if any(_could_answer(text, current) for text in answers):
            fences = answers
    for text in reversed(fences):  # the last code the reply gives is its answer
        if START not in text and END not in text:
            continue
        try:
            frame = Frame.parse(text)
        except ProblemError as exc:
            if regions == 1:
                return [_between_markers(text)]
            return EditFailure(f"rewrite has broken evolve markers: {exc}")
        if len(frame.regions) != regions:
            split = _regions_of_each(fences, regions)  # a multi-file program: one block per file
            if split is not None:
                return split
            return EditFailure(f"rewrite has {len(frame.regions)} evolve region(s); the program has {regions}")
        return list(frame.regions)
    if regions == 1:
        return [_answer(fences, current[0] if current else None)]
    if len(fences) == regions:
        return list(fences)
    return EditFailure(f"rewrite gives {len(fences)} code blocks for {regions} evolve regions "
                       f"(mark them with # {START} / # {END})")


def _quotes(text: str, current: list[str]) -> bool:
    """Whether a block with evolve markers holds exactly the current regions."""
    if START not in text and END not in text:
        return False
    try:
        regions = Frame.parse(text).regions
    except ProblemError:
        return False
    return len(regions) == len(current) and all(_same_code(a, b) for a, b in zip(regions, current))


def _could_answer(text: str, current: list[str]) -> bool:
    """Whether a block can be the new code rather than an aside: it has the markers, or it
    is no usage example, no repeat of a region, and defines a name the regions define
    (a helper suggested beside a quote defines other names); when the regions define none,
    it does more than define (a helper is only a ``def``, a body does something)."""
    if START in text or END in text:
        return True
    if _usage_only(text) or any(_same_code(text, c) for c in current):
        return False
    names = set().union(*(_defined_names(c) for c in current))
    return bool(_defined_names(text) & names) if names else not _definitions_only(text)


def _definitions_only(text: str) -> bool:
    import ast

    body = _parse_body(text)
    return bool(body) and all(isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import,
                                                ast.ImportFrom)) for stmt in body)


def _regions_of_each(fences: list[str], regions: int) -> list[str] | None:
    """The regions of every block that holds markers, in order, if they add up to ``regions``."""
    found: list[str] = []
    for text in fences:
        if START in text or END in text:
            try:
                found += Frame.parse(text).regions
            except ProblemError:
                return None
    return found if len(found) == regions else None


def _answer(blocks: list[str], current: str | None) -> str:
    """Which of a reply's unmarked code blocks is the new region (a block with the evolve
    markers is chosen before this). Replies quote the code they were given and add usage
    examples ("check it with ``print(f(3))``"), before or after the answer, so:

    1. blocks that repeat the current region, and usage examples (every statement an
       expression or an assert), are set aside, unless no other block is left;
    2. of the rest, the last that defines or assigns a top-level name the current region
       defines (a helper suggested after the answer defines other names);
    3. else the last of the rest.
    """
    if len(blocks) == 1:
        return blocks[0]
    rest = [b for b in blocks if not (current is not None and _same_code(b, current)) and not _usage_only(b)]
    rest = rest or blocks
    names = _defined_names(current) if current is not None else set()
    if names:
        for block in reversed(rest):
            if _defined_names(block) & names:
                return block
    return rest[-1]


def _same_code(a: str, b: str) -> bool:
    def lines(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip()]
    return lines(a) == lines(b)


def _parse_body(text: str) -> list | None:
    """A region's statements, parsed as the body of a function (regions are often one)."""
    import ast
    import textwrap

    body = textwrap.indent(textwrap.dedent(text.expandtabs(8)), "    ")
    try:
        return ast.parse("def _region():\n" + (body if body.strip() else "    pass\n")).body[0].body
    except (SyntaxError, ValueError):
        return None


def _usage_only(text: str) -> bool:
    import ast

    body = _parse_body(text)
    return bool(body) and all(isinstance(stmt, (ast.Expr, ast.Assert)) for stmt in body)


def _defined_names(text: str) -> set[str]:
    import ast

    names: set[str] = set()
    for stmt in _parse_body(text) or []:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in stmt.names)
        else:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else (
                [stmt.target] if isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) else [])
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _between_markers(text: str) -> str:
    """One region's text from a block whose markers are repeated or half missing: what lies
    after the first start marker and before the last end marker, other marker lines dropped."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if (m := _MARKER.match(line)) and m.group(1) == START]
    ends = [i for i, line in enumerate(lines) if (m := _MARKER.match(line)) and m.group(1) == END]
    lo = starts[0] + 1 if starts else 0
    hi = ends[-1] if ends and ends[-1] >= lo else len(lines)
    return "".join(line for line in lines[lo:hi] if not _is_marker(line))


def _named_regions(reply: str, code: str, langs: tuple[str, ...] | None) -> list[str] | EditFailure | None:
    """A multi-file rewrite whose code blocks name their files (``### sine.c`` on the line
    before each): every file's new regions, in the program's order, a file without a block
    keeping its own. None when a block with evolve markers names no file (then blocks count
    in order); blocks for context files are ignored."""
    files = tree.unpack(code)
    paths = tuple(f.path for f in files)
    lines = reply.split("\n")
    given: dict[str, list[str]] = {}
    for m in _FENCE.finditer(reply):
        text = m.group("code")
        marked = START in text or END in text
        if (langs is not None and m.group("lang").lower() not in langs) or _OPENINGS.search(text):
            continue
        path = _named_file(lines, reply.count("\n", 0, m.start()), paths)
        file = next((f for f in files if f.path == path), None)
        if file is None or (not marked and not file.whole):
            if marked:
                return None
            continue
        try:
            given[file.path] = [text] if file.whole else list(Frame.parse(text).regions)
        except ProblemError as exc:
            return EditFailure(f"rewrite of {file.path} has broken evolve markers: {exc}")
    if not given:
        return None
    out: list[str] = []
    for f in files:
        try:
            current = list(Frame.parse(tree.pack([f])).regions)
        except ProblemError:  # a context file
            continue
        new = given.get(f.path, current)
        if len(new) != len(current):
            return EditFailure(f"rewrite of {f.path} has {len(new)} evolve region(s); the file has {len(current)}")
        out += new
    return out


def apply_rewrite(code: str, reply: str) -> str | EditFailure:
    frame = Frame.parse(code)
    named = _named_regions(normalize_reply(reply), code, fence_tags(code)) if len(tree.paths(code)) > 1 else None
    regions = named if named is not None else parse_rewrite(reply, len(frame.regions), list(frame.regions),
                                                            fence_tags(code))
    if isinstance(regions, EditFailure):
        return regions
    fitted = [_fit_indent(new, old) for new, old in zip(regions, frame.regions)]
    if "\r\n" in code:
        fitted = [text.replace("\n", "\r\n") for text in fitted]
    return frame.join(fitted)


def _fit_indent(new: str, old: str) -> str:
    """Indent a rewritten region like the region it replaces (models often dedent), with
    the region's character (tabs or spaces)."""
    # The text of a multi-line string says nothing of the indentation (a line of it may
    # start at column 0, or with a tab in a program indented with spaces).
    old_lines, new_lines = _code_lines(old.splitlines()), _code_lines(new.splitlines())
    if not old_lines or not new_lines:
        return new
    want = min(_width(_indent(line)) for line in old_lines)
    have = min(_width(_indent(line)) for line in new_lines)
    tabs = _uses_tabs(old_lines)
    if have == want and _uses_tabs(new_lines) == tabs:
        return new
    lines = new.splitlines()
    shifted = _shifted(lines, want - have, tabs, text=_in_strings(lines))
    return "\n".join(shifted or []) + "\n"


# -- either format ---------------------------------------------------------------
def apply_reply(code: str, reply: str, *, fmt: str) -> str | EditFailure:
    """Apply a reply in the format asked for (``diff``: SEARCH/REPLACE; otherwise a rewrite),
    or, when it holds none of that format, in the other one (a rewrite only if it has the markers)."""
    first, second = (apply_search_replace, apply_rewrite) if fmt == "diff" else (apply_rewrite, apply_search_replace)
    child = first(code, reply)
    # A diff reply's bare code snippet is not a rewrite: only code holding the markers is.
    other_format = START in reply if fmt == "diff" else bool(_OPENINGS.search(normalize_reply(reply)))
    if isinstance(child, EditFailure) and child.reason.startswith("no ") and other_format:
        other = second(code, reply)
        if not isinstance(other, EditFailure):
            return other
    return child
