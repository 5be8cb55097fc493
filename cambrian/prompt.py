"""Prompts for LLM operators, built by a pure function from template files.

Templates live in ``cambrian/prompts/`` (``string.Template``: ``$name``); a user can
point ``llm.prompts_dir`` at a copy and change them. Everything a prompt shows is
capped in size so one huge error message cannot crowd out the program.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Sequence

from . import tree
from .operators.base import Tried
from .program import END, START, Frame, Program, _MARKER

BUILTIN = Path(__file__).with_name("prompts")
FEEDBACK_CAP = 1500
KINDS = ("diff", "rewrite", "crossover")


def load_templates(directory: Path | None = None) -> dict[str, string.Template]:
    names = ("system",) + KINDS + ("retry", "insights") + tuple(f"{k}_text" for k in ("system",) + KINDS)
    out = {}
    for name in names:
        custom = Path(directory) / f"{name}.txt" if directory else None
        path = custom if custom is not None and custom.is_file() else BUILTIN / f"{name}.txt"
        out[name] = string.Template(path.read_text(encoding="utf-8"))
    return out


def _cap(text: str, limit: int = FEEDBACK_CAP) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit // 3] + "\n[...]\n" + text[-(2 * limit) // 3:]


_SCRATCH = re.compile(r"(?:/[^\s\"']*)?/cambrian-[\w-]+/")


def portable(text: str) -> str:
    """Text without the per-evaluation scratch directories (``/tmp/cambrian-x1y2/program.py``
    becomes ``program.py``): a prompt must be the same when a run is replayed."""
    return _SCRATCH.sub("", text)


def _score(p: Program, objective: str) -> str:
    return f"{objective} = {p.score:.10g}" if p.score is not None else f"{p.status}: {p.reason}"


def describe_program(p: Program, *, title: str, objective: str) -> str:
    lines = [f"## {title} ({_score(p, objective)})", render_code(p.code)]
    # Metrics named private_* (e.g. a held-out score) are for people, never for the search.
    others = {k: v for k, v in sorted(p.metrics.items()) if k != objective and not k.startswith("private_")}
    if others:
        lines.append("Other metrics: " + ", ".join(f"{k} = {v:.6g}" for k, v in others.items()))
    feedback = {k: v for k, v in p.feedback.items() if not k.startswith("private")}
    traceback = feedback.pop("traceback", "")
    if traceback:
        lines.append("Error:\n" + _cap(portable(traceback), 800))
    feedback.pop("stdout", None)
    stderr = feedback.pop("stderr", "")
    if stderr:
        lines.append("Stderr tail:\n" + _cap(portable(stderr), 600))
    if feedback:
        lines.append("Evaluator feedback:\n" + _cap(json.dumps(feedback, sort_keys=True, default=str)))
    return "\n".join(lines)


def render_code(code: str) -> str:
    """A program as the model reads it: one ```python block, or each file of a bundle
    under its path (files without evolve regions marked as context)."""
    if not tree.is_bundle(code):
        return "\n".join(["```python", code.rstrip(), "```"])
    evolving = _evolving_paths(code)
    out = []
    for f in tree.unpack(code):
        note = "" if f.path in evolving else " (context: fixed, do not edit)"
        out += [f"### {f.path}{note}", f"```{f.fence}", f.text.rstrip(), "```"]
    return "\n".join(out)


def _evolving_paths(code: str) -> set[str]:
    frame = Frame.parse(code)
    starts = [a for a, _ in frame.region_spans()]
    found, offset = set(), 0
    for f in tree.unpack(code):
        end = offset + len(f.header) + len(f.text)
        if any(offset <= a <= end for a in starts):
            found.add(f.path)
        offset = end
    return found


def _format_words(code: str) -> dict[str, str]:
    """What the templates call the code-block tag and the marker lines of this program."""
    if not tree.is_bundle(code):
        return {"fence": "python", "start": f"# {START}", "end": f"# {END}"}
    files = [f for f in tree.unpack(code) if f.path in _evolving_paths(code)]
    marks = [(m.group(1), line.strip()) for f in files[:1] for line in f.text.splitlines()
             if (m := _MARKER.match(line))]
    start = next((text for word, text in marks if word == START), f"// {START}")
    end = next((text for word, text in marks if word == END), f"// {END}")
    return {"fence": files[0].fence if files else "text", "start": start, "end": end}


def _multi_file_hint(code: str, kind: str) -> str:
    if len(tree.paths(code)) < 2:
        return ""
    if kind == "diff":
        return ("\nThis program has several files: put the path of the file a SEARCH block edits on the "
                "line just before its <<<<<<< SEARCH line.\n")
    return ("\nThis program has several files: give one code block for each file whose evolve regions you "
            "change, on the line after its path (### path), as shown; a file you leave out stays as it is.\n")


def source_label(island: int, *, home: int, best: bool) -> str:
    """Where an inspiration comes from, said to the model."""
    if island == home:
        return "the best of the current program's island" if best else "from the current program's island"
    return f"the best of island {island}, a separate lineage" if best else f"from island {island}, a separate lineage"


def render_tried(tried: Sequence[Tried]) -> str:
    """The parent's earlier children: outcome, changed lines and traceback tail of each."""
    if not tried:
        return ""
    out = ["## Already tried from this program (do not repeat these)"]
    for t in tried:
        times = f" ({t.times} times)" if t.times > 1 else ""
        out.append(f"- {t.operator}: {t.outcome}: {_cap(t.detail, 200)}{times}")
        if t.diff:
            out += ["  ```diff", *(f"  {line}" for line in _cap(t.diff, 800).splitlines()), "  ```"]
        if t.error:
            out += ["  Traceback (last lines):", *(f"    {line}" for line in _cap(t.error, 400).splitlines())]
    return "\n".join(out) + "\n"


def build_messages(
    kind: str,
    *,
    templates: dict[str, string.Template],
    task: str,
    objective: str,
    direction: str,
    parent: Program,
    inspirations: Sequence[Program],
    tried: Sequence[Tried] = (),
    notes: str = "",
    sources: Sequence[str] = (),
) -> list[dict[str, str]]:
    """The chat messages for one proposal: a system message and a user message.
    ``sources`` labels each inspiration with where it comes from (see ``source_label``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown prompt kind {kind!r}")
    text = tree.kind(parent.code) == "text"
    system = templates["system_text" if text else "system"].substitute(task=task.strip() or "(no task description given)",
                                            objective=objective, direction=direction)
    titles = [f"Other program {i}" + (f": {sources[i - 1]}" if i - 1 < len(sources) else "")
              for i in range(1, len(inspirations) + 1)]
    others = "\n\n".join(describe_program(p, title=title, objective=objective)
                         for p, title in zip(inspirations, titles))
    if any("separate lineage" in s for s in sources):
        others = ("Islands are lineages evolved apart from each other; ideas from another\n"
                  "island's program may combine well with the current one.\n\n" + others)
    user = templates[f"{kind}_text" if text else kind].substitute(
        parent=describe_program(parent, title="Current text" if text else "Current program", objective=objective),
        inspirations=others + "\n" if others else "",
        history=render_tried(tried),
        notes=f"## Notes from earlier in this search\n{_cap(notes, 1200)}\n" if notes.strip() else "",
        **_format_words(parent.code),
    ) + _multi_file_hint(parent.code, kind)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def build_insight_messages(*, templates: dict[str, string.Template], task: str, objective: str,
                           direction: str, best: Program, recent: Sequence[Tried],
                           notes: str = "") -> list[dict[str, str]]:
    """The request that condenses recent results into notes for later prompts."""
    user = templates["insights"].substitute(
        task=task.strip() or "(no task description given)", objective=objective, direction=direction,
        best=describe_program(best, title="Best program", objective=objective),
        recent="\n".join(f"- {t.operator}: {t.outcome}: {_cap(t.detail, 160)}" for t in recent) or "(none)",
        notes=f"The notes so far:\n{_cap(notes, 1200)}\n" if notes.strip() else "",
    )
    return [{"role": "user", "content": user}]
