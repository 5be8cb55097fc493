"""Problem-directory conventions: Cambrian's own, OpenEvolve's and ShinkaEvolve's.

A directory written for a peer runs unchanged: this package finds its files
(``layout``), translates its config into Cambrian's with a report of what was
mapped and what was ignored (``openevolve.translate``, ``shinka.translate``), and,
inside the sandbox, calls its evaluator the way the peer would (``runtime``).

=============  ====================  ============  ==========================================
convention     program               evaluator     contract
=============  ====================  ============  ==========================================
cambrian       initial_program.py    evaluate.py   ``evaluate(path) -> dict``; stages filter
openevolve     initial_program.py    evaluator.py  dict or ``EvaluationResult``; last stage is
                                                   the full evaluation; ``config.yaml``
shinka         initial.py            evaluate.py   ``main(path, results_dir)`` writes
                                                   ``metrics.json`` and ``correct.json``
=============  ====================  ============  ==========================================

Detection looks at file names only; ``--convention`` or the config key ``convention``
forces one. A peer's initial program may be one file of another language
(``initial_program.rs``, ``initial.f90``) that its Python evaluator compiles and runs.
This module imports only the standard library: the sandboxed worker imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CAMBRIAN, OPENEVOLVE, SHINKA = "cambrian", "openevolve", "shinka"
NAMES = (CAMBRIAN, OPENEVOLVE, SHINKA)
PEERS = (OPENEVOLVE, SHINKA)
SHIMS = Path(__file__).resolve().parent / "shims"


@dataclass(frozen=True)
class Layout:
    """Which files of a problem directory play which part, under one convention."""

    convention: str
    program: str                 # the initial program's file name
    evaluator: str               # the evaluator's file name
    configs: tuple[str, ...]     # config files, in order of preference (the first that exists is read)
    entry: str                   # the function the evaluator must define


LAYOUTS = {
    CAMBRIAN: Layout(CAMBRIAN, "initial_program.py", "evaluate.py", ("cambrian.yaml",), "evaluate"),
    OPENEVOLVE: Layout(OPENEVOLVE, "initial_program.py", "evaluator.py", ("cambrian.yaml", "config.yaml"), "evaluate"),
    SHINKA: Layout(SHINKA, "initial.py", "evaluate.py", ("cambrian.yaml", "shinka.yaml"), "main"),
}
LABELS = {CAMBRIAN: "Cambrian", OPENEVOLVE: "OpenEvolve", SHINKA: "ShinkaEvolve"}


NOT_PROGRAMS = (".md", ".txt", ".json", ".yaml", ".yml", ".ipynb", ".pyc")


def program_named(root: Path, stem: str) -> str | None:
    """A peer's initial program: ``<stem>.py``, else the one ``<stem>.<ext>`` (ShinkaEvolve's
    initial.f90, OpenEvolve's initial_program.rs...: the Python evaluator compiles and runs it)."""
    if (root / f"{stem}.py").is_file():
        return f"{stem}.py"
    found = sorted(p.name for p in root.glob(f"{stem}.*") if p.is_file() and p.suffix not in NOT_PROGRAMS)
    return found[0] if len(found) == 1 else None


def detect(root: Path) -> str | None:
    """The convention a directory's file names follow, or None when none fits."""
    def has(name: str) -> bool:
        return (root / name).is_file()

    if has("initial_program.py") and has("evaluate.py"):
        return CAMBRIAN
    if program_named(root, "initial_program") and has("evaluator.py"):
        return OPENEVOLVE
    if program_named(root, "initial") and has("evaluate.py"):
        return SHINKA
    return None


def layout(root: Path, convention: str | None) -> Layout:
    """The layout of ``root`` under ``convention`` (None or "auto": detected)."""
    from ..errors import ProblemError

    if convention in (None, "auto"):
        found = detect(root)
        if found is None:
            program = "initial_program.py" if (root / "initial_program.py").is_file() else None
            if program and not (root / "evaluate.py").is_file():
                raise ProblemError(f"{root}: missing evaluate.py (or evaluator.py, OpenEvolve's name)")
            raise ProblemError(
                f"{root}: missing initial_program.py: a problem directory holds initial_program.py + evaluate.py "
                f"(Cambrian), initial_program.py + evaluator.py (OpenEvolve) or initial.py + evaluate.py "
                f"(ShinkaEvolve)")
        return _specific(root, LAYOUTS[found])
    if convention not in LAYOUTS:
        raise ProblemError(f"unknown convention {convention!r} (expected one of: auto, {', '.join(NAMES)})")
    chosen = _specific(root, LAYOUTS[convention])
    for name in (chosen.program, chosen.evaluator):
        if not (root / name).is_file():
            raise ProblemError(f"{root}: missing {name} (convention {convention})")
    return chosen


def _specific(root: Path, chosen: Layout) -> Layout:
    """The layout with this directory's own program name, where the convention allows several."""
    from dataclasses import replace

    if chosen.convention in (SHINKA, OPENEVOLVE):
        return replace(chosen, program=program_named(root, Path(chosen.program).stem) or chosen.program)
    return chosen


def config_file(root: Path, chosen: Layout) -> Path | None:
    """The config file a directory brings under its convention (Cambrian's own first)."""
    names = list(chosen.configs)
    if chosen.convention == SHINKA:  # the one its launch script reads, before shinka.yaml
        launched = launch_config(root / "run_evo.py")
        if launched is not None and launched.endswith((".yaml", ".yml")):
            names.insert(1, launched)
    for name in names:
        if (root / name).is_file():
            return root / name
    if chosen.convention == SHINKA:  # shinka_small.yaml, shinka_medium.yaml...: the first by name
        found = sorted(root.glob("shinka*.yaml"))
        return found[0] if found else None
    return None


def launch_config(script: Path) -> str | None:
    """The config file ShinkaEvolve's launch script reads by default: the ``default`` of its
    ``--config_path`` (or ``config_path``) argument, read statically (the script is never run)."""
    import ast

    try:
        tree = ast.parse(script.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"
                and node.args and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in ("--config_path", "config_path", "--config-path", "--config")):
            for keyword in node.keywords:
                if keyword.arg == "default" and isinstance(keyword.value, ast.Constant) \
                        and isinstance(keyword.value.value, str) and "/" not in keyword.value.value:
                    return keyword.value.value
    return None


def not_scoring(root: Path, convention: str, program: str) -> frozenset[str]:
    """The directory's own files that cannot change a score, beyond Cambrian's (cambrian.yaml,
    task.md...): the initial program (checked on its own) and a peer's config files and launch
    script, read for settings and task text only. A resume is not refused when they change."""
    names = {program}
    if convention == OPENEVOLVE:
        names.add("config.yaml")
    elif convention == SHINKA:
        names |= {p.name for p in root.glob("shinka*.yaml")} | {"shinka.yaml", "run_evo.py"}
        names |= {launch_config(root / "run_evo.py")} - {None}
    return frozenset(names)


def forced(root: Path) -> str | None:
    """The ``convention`` key of the directory's cambrian.yaml, if it sets one (read as text:
    a malformed file is reported later, by the config loader)."""
    path = root / "cambrian.yaml"
    if not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    value = data.get("convention") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None

