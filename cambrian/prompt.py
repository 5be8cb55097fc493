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

from .operators.base import Tried
from .program import Program

BUILTIN = Path(__file__).with_name("prompts")
FEEDBACK_CAP = 1500
KINDS = ("diff", "rewrite", "crossover")


def load_templates(directory: Path | None = None) -> dict[str, string.Template]:
    names = ("system",) + KINDS + ("retry", "insights")
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
    lines = [f"## {title} ({_score(p, objective)})", "```python", p.code.rstrip(), "```"]
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
    system = templates["system"].substitute(task=task.strip() or "(no task description given)",
                                            objective=objective, direction=direction)
    titles = [f"Other program {i}" + (f": {sources[i - 1]}" if i - 1 < len(sources) else "")
              for i in range(1, len(inspirations) + 1)]
    others = "\n\n".join(describe_program(p, title=title, objective=objective)
                         for p, title in zip(inspirations, titles))
    if any("separate lineage" in s for s in sources):
        others = ("Islands are lineages evolved apart from each other; ideas from another\n"
                  "island's program may combine well with the current one.\n\n" + others)
    user = templates[kind].substitute(
        parent=describe_program(parent, title="Current program", objective=objective),
        inspirations=others + "\n" if others else "",
        history=render_tried(tried),
        notes=f"## Notes from earlier in this search\n{_cap(notes, 1200)}\n" if notes.strip() else "",
    )
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
