"""A problem directory: the program to evolve, its evaluator, config and task text.

```
initial_program.py   one or more EVOLVE-BLOCK regions
evaluate.py          evaluate(program_path) -> dict of metrics
cambrian.yaml        optional config
task.md              optional description, for LLM operators
```

or, for other languages, several files, or text (``cambrian.tree``): ``initial_program.c``
(any one file; a text file without markers evolves whole), or an ``initial_program/``
directory (its files with evolve markers evolve, the others are context); and an
executable ``evaluate`` / ``evaluate.sh`` / ``evaluate.<ext>`` command that prints JSON
metrics instead of ``evaluate.py``.

OpenEvolve's and ShinkaEvolve's directories load too (``conventions``): their file
names, evaluator contracts and config files.

Nothing here imports the user's code: the evaluator is checked statically and only
ever runs in a separate process.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

from . import conventions, tree
from .errors import ProblemError
from .program import END, START, Frame, compile_error

PROGRAM_FILE = "initial_program.py"
EVALUATOR_FILE = "evaluate.py"
CONFIG_FILE = "cambrian.yaml"
TASK_FILE = "task.md"


@dataclass(frozen=True)
class Problem:
    """A loaded, checked problem directory."""

    root: Path
    initial_code: str
    task: str
    evaluator_path: Path
    config_path: Path | None
    stages: tuple[str, ...]
    convention: str = conventions.CAMBRIAN
    program_file: str = PROGRAM_FILE   # initial_program.py, initial.py, initial_program.c, initial_program (a tree)
    command: bool = False              # the evaluator is an executable that prints JSON metrics

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def program_path(self) -> Path:
        return self.root / self.program_file

    def imports(self) -> tuple[str, ...]:
        """Modules the evaluator and the initial program import at top level, minus the
        problem's own files: what the warm pool may import once for every candidate."""
        return tuple(dict.fromkeys(module_imports(self.evaluator_path) +
                                   module_imports(self.program_path)))


    @classmethod
    def load(cls, directory: str | Path, *, convention: str | None = None) -> "Problem":
        """Load and check a problem directory; ``convention`` None or "auto" detects it."""
        root = Path(directory).expanduser().resolve()
        if not root.exists():
            raise ProblemError(f"problem directory not found: {directory}")
        if not root.is_dir():
            raise ProblemError(f"not a directory: {directory}")
        chosen = convention or conventions.forced(root)
        general = _any_language(root) if chosen in (None, "auto", conventions.CAMBRIAN) else None
        if general is not None:
            layout = conventions.LAYOUTS[conventions.CAMBRIAN]
            program, evaluator, command = general
        else:
            layout = conventions.layout(root, chosen)
            program, evaluator, command = root / layout.program, root / layout.evaluator, False
        code = _read(program) if program.suffix == ".py" else _read_bundle(program)
        if layout.convention == conventions.OPENEVOLVE and program.suffix == ".py" and START not in code:
            # OpenEvolve evolves a file without markers as a whole: so does its directory here
            code = f"# {START}\n{code}{'' if code.endswith(chr(10)) else chr(10)}# {END}\n"
        try:
            Frame.parse(code)
        except ProblemError as exc:
            raise ProblemError(f"{program}: {exc}") from None
        error = compile_error(code)
        if error is not None:
            raise ProblemError(f"{program}: {error}")
        if command:
            stages: tuple[str, ...] = ()
        else:
            names = _top_level_names(evaluator)
            stages = tuple(sorted((n for n in names if n.startswith("evaluate_stage")), key=_stage_key))
            if layout.convention == conventions.SHINKA:
                stages = ()
            if layout.entry not in names and not (layout.convention == conventions.OPENEVOLVE and stages):
                signature = "main(program_path, results_dir)" if layout.entry == "main" else "evaluate(program_path)"
                raise ProblemError(f"{evaluator}: defines no {signature} function")
        config = conventions.config_file(root, layout)
        task = root / TASK_FILE
        return cls(
            root=root,
            initial_code=code,
            task=_read(task) if task.is_file() else "",
            evaluator_path=evaluator,
            config_path=config,
            stages=stages,
            convention=layout.convention,
            program_file=program.name,
            command=command,
        )


def _any_language(root: Path) -> tuple[Path, Path, bool] | None:
    """(program, evaluator, is it a command) for Cambrian's directories whose program is not
    one Python file (initial_program.c, initial_program/) or whose evaluator is a command;
    None for the directories ``conventions`` knows (or reports as incomplete)."""
    if conventions.detect(root) is not None:
        return None
    program = _find_program(root)
    command = _find_command(root)
    if not program.exists():
        return None
    if command is None and not (root / EVALUATOR_FILE).is_file():
        if program.name == PROGRAM_FILE:
            return None
        raise ProblemError(f"{root}: missing evaluate.py (or an executable evaluate.sh / evaluate.<ext> "
                           "command that prints JSON metrics)")
    return program, command or root / EVALUATOR_FILE, command is not None


def _find_program(root: Path) -> Path:
    """initial_program.py; else one initial_program.<ext> file or an initial_program/ tree."""
    if (root / PROGRAM_FILE).is_file():
        return root / PROGRAM_FILE
    found = sorted(p for p in root.glob("initial_program*")
                   if p.stem == "initial_program" and not p.name.startswith(".") and (p.is_dir() or p.suffix))
    if len(found) > 1:
        raise ProblemError(f"{root}: {' and '.join(p.name for p in found)}: keep one initial program")
    return found[0] if found else root / PROGRAM_FILE


def _read_bundle(path: Path) -> str:
    return tree.load_tree(path) if path.is_dir() else tree.load_single(path)


def _find_command(root: Path) -> Path | None:
    """An executable evaluate or evaluate.<ext> (not .py): the evaluator as a command."""
    found = sorted(p for p in root.glob("evaluate*") if p.stem == "evaluate" and p.is_file()
                   and p.suffix not in (".py", ".pyc", ".md", ".txt", ".json", ".yaml", ".yml"))
    if not found:
        return None
    if len(found) > 1:
        raise ProblemError(f"{root}: {' and '.join(p.name for p in found)}: keep one evaluator")
    if not os.access(found[0], os.X_OK):
        raise ProblemError(f"{found[0]}: an evaluator command must be executable (chmod +x {found[0].name}), "
                           "start with a #! line and print a JSON object of metrics")
    return found[0]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemError(f"cannot read {path}: {exc}") from None


def _top_level_names(path: Path) -> set[str]:
    source = _read(path)
    try:
        tree = ast.parse(source, str(path))
    except SyntaxError as exc:
        raise ProblemError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _stage_key(name: str) -> int:
    suffix = name.removeprefix("evaluate_stage")
    return int(suffix) if suffix.isdigit() else 1_000_000


def module_imports(path: Path) -> tuple[str, ...]:
    """Top-level absolute imports of a Python file, minus modules that live beside it."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return ()
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    local = {p.stem for p in Path(path).parent.iterdir()}
    return tuple(dict.fromkeys(m for m in found if m.split(".")[0] not in local))
