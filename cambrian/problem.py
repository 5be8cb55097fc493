"""A problem directory: the program to evolve, its evaluator, config and task text.

```
initial_program.py   one or more EVOLVE-BLOCK regions
evaluate.py          evaluate(program_path) -> dict of metrics
cambrian.yaml        optional config
task.md              optional description, for LLM operators
```

OpenEvolve's and ShinkaEvolve's directories load too (``conventions``): their file
names, evaluator contracts and config files.

Nothing here imports the user's code: the evaluator is checked statically and only
ever runs in a separate process.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from . import conventions
from .errors import ProblemError
from .program import Frame, compile_error

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
    program_file: str = PROGRAM_FILE

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
        layout = conventions.layout(root, convention or conventions.forced(root))
        program = root / layout.program
        evaluator = root / layout.evaluator
        code = _read(program)
        try:
            Frame.parse(code)
        except ProblemError as exc:
            raise ProblemError(f"{program}: {exc}") from None
        error = compile_error(code)
        if error is not None:
            raise ProblemError(f"{program}: {error}")
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
            program_file=layout.program,
        )


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
