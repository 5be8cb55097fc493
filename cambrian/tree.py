"""Programs in any language, in several files, or text: one string, one content-hash id.

A single Python file is stored as it is. Anything else (a C file, a prompt, a whole
directory) is stored as a *bundle*: every file of the tree in path order, each under a
header line that names it::

    === FILE: src/solver.c ===
    ...the file...
    === TEXT: prompt.txt ===
    ...a text file that evolves as a whole...

``FILE`` bodies evolve between their evolve markers (any comment syntax) and are fixed
elsewhere; a file without markers is context, shown to the model and fixed. A ``TEXT``
body is one region from its first line to its last. Headers are fixed text, so the region
check over the bundle holds in every file and no edit can add, drop or rename a file; the
program id, a hash of the bundle, covers the whole tree. A bundle never parses as Python
(its first line is a header), so the two kinds cannot be confused.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ProblemError

_HEADER = re.compile(r"^=== (FILE|TEXT): (\S(?:.*\S)?) ===$")
MAX_TREE_BYTES = 1_000_000
# Extensions of files that are prose rather than code: no comment syntax, no compile check,
# and (as a single-file program without markers) the whole file evolves.
TEXT_EXTENSIONS = {".txt", ".md", ".markdown", ".rst", ".prompt", ".text", ""}
# The fence tag a file's code is shown under, by extension (else the extension itself).
FENCES = {".py": "python", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp", ".rs": "rust",
          ".js": "javascript", ".ts": "typescript", ".go": "go", ".java": "java", ".hs": "haskell",
          ".lua": "lua", ".sql": "sql", ".sh": "bash", ".jl": "julia", ".m": "matlab", ".tex": "latex",
          ".lisp": "lisp", ".scm": "scheme", ".clj": "clojure", ".asm": "asm", ".s": "asm", ".r": "r",
          ".f90": "fortran", ".ml": "ocaml", ".md": "markdown", ".txt": "text", "": "text"}


@dataclass(frozen=True)
class File:
    path: str       # relative, with forward slashes
    text: str       # ends with a newline (or is empty)
    whole: bool     # True: the whole text evolves (TEXT header)

    @property
    def header(self) -> str:
        return f"=== {'TEXT' if self.whole else 'FILE'}: {self.path} ===\n"

    @property
    def fence(self) -> str:
        ext = Path(self.path).suffix.lower()
        return FENCES.get(ext, ext.lstrip("."))

    @property
    def is_python(self) -> bool:
        return self.path.endswith(".py")

    @property
    def is_text(self) -> bool:
        return Path(self.path).suffix.lower() in TEXT_EXTENSIONS


_FIRST_HEADER = re.compile(_HEADER.pattern, re.MULTILINE)


def is_bundle(code: str) -> bool:
    """Whether ``code`` starts with a file header (checked in every hot path: no copy of the text)."""
    return _FIRST_HEADER.match(code) is not None


def pack(files: list[File]) -> str:
    return "".join(f.header + f.text for f in sorted(files, key=lambda f: f.path))


def unpack(code: str) -> list[File]:
    """The files of a bundle, in order (a header inside a body starts a new file)."""
    files: list[File] = []
    head: re.Match[str] | None = None
    body: list[str] = []
    for line in code.splitlines(keepends=True):
        match = _HEADER.match(line.rstrip("\r\n"))
        if match is not None:
            if head is not None:
                files.append(File(head.group(2), "".join(body), head.group(1) == "TEXT"))
            head, body = match, []
        elif head is not None:
            body.append(line)
    if head is not None:
        files.append(File(head.group(2), "".join(body), head.group(1) == "TEXT"))
    return files


def paths(code: str) -> tuple[str, ...]:
    return tuple(f.path for f in unpack(code)) if is_bundle(code) else ()


def kind(code: str) -> str:
    """``python`` (a Python file, as always), ``text`` (every evolving file is prose) or ``code``."""
    if not is_bundle(code):
        return "python"
    evolving = [f for f in unpack(code) if f.whole or _has_markers(f.text)]
    return "text" if evolving and all(f.whole or f.is_text for f in evolving) else "code"


def _has_markers(text: str) -> bool:
    from .program import _MARKER

    return any(_MARKER.match(line) for line in text.splitlines())


def read_file(path: Path, rel: str, *, whole_if_unmarked: bool) -> File:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProblemError(f"{path}: not UTF-8 text (only text files can be part of a program)") from None
    except OSError as exc:
        raise ProblemError(f"cannot read {path}: {exc}") from None
    if text and not text.endswith("\n"):
        text += "\n"
    for lineno, line in enumerate(text.splitlines(), start=1):
        if _HEADER.match(line):
            raise ProblemError(f"{path}:{lineno}: a line like a file header ({line!r}) cannot be part of a program")
    whole = whole_if_unmarked and Path(rel).suffix.lower() in TEXT_EXTENSIONS and not _has_markers(text)
    return File(rel, text, whole)


SINGLE = "initial_program"  # the name of a one-file program's file in its bundle (its extension kept)


def load_single(path: Path) -> str:
    """A one-file program that is not Python: a bundle of that one file, ``initial_program.<ext>``."""
    return pack([read_file(path, SINGLE + path.suffix, whole_if_unmarked=True)])


def _one_file(files: list[File]) -> bool:
    """Whether a bundle is a one-file program (``load_single``'s), written out as a file; a
    tree is written as a directory, even a tree of one file."""
    return len(files) == 1 and Path(files[0].path).stem == SINGLE and "/" not in files[0].path


def load_tree(root: Path) -> str:
    """Every file under ``root`` (hidden files and caches skipped), as a bundle."""
    files, total, seen = [], 0, {os.path.realpath(root)}
    for directory, subdirs, names in os.walk(root, followlinks=True):  # a linked directory is part of the tree
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d != "__pycache__")
        for d in subdirs:
            real = os.path.realpath(os.path.join(directory, d))
            if real in seen:
                raise ProblemError(f"{Path(directory) / d}: a link to a directory already in the program tree")
            seen.add(real)
        for name in sorted(names):
            if name.startswith(".") or name.endswith((".pyc", ".o")):
                continue
            full = Path(directory) / name
            rel = full.relative_to(root).as_posix()
            if _HEADER.fullmatch(f"=== FILE: {rel} ===") is None or any(c in rel for c in "\r\n"):
                raise ProblemError(f"{full}: a file name with a line break or spaces at either end cannot "
                                   "be part of a program (rename the file)")
            try:
                total += full.stat().st_size
            except OSError as exc:
                raise ProblemError(f"cannot read {full}: {exc.strerror}") from None
            if total > MAX_TREE_BYTES:
                raise ProblemError(f"{root}: the program tree is over {MAX_TREE_BYTES:,} bytes")
            files.append(read_file(full, rel, whole_if_unmarked=False))
    if not files:
        raise ProblemError(f"{root}: the program directory is empty")
    return pack(files)


def program_name(code: str) -> str:
    """What a program is called where it is written out: ``program.py``, ``program.c`` (one
    file of another language, its extension kept) or ``program`` (a directory)."""
    if not is_bundle(code):
        return "program.py"
    files = unpack(code)
    return "program" + Path(files[0].path).suffix if _one_file(files) else "program"


def write(code: str, dest: Path) -> list[Path]:
    """Write ``code`` as ``dest`` (a file) or as the tree under ``dest`` (a directory); return
    every path written, directories included, for the caller to chown or list."""
    files = unpack(code) if is_bundle(code) else []
    if not files or _one_file(files):
        dest.write_text(files[0].text if files else code, encoding="utf-8")
        return [dest]
    for f in files:  # every path checked before anything is written
        if ".." in Path(f.path).parts or Path(f.path).is_absolute():
            raise ValueError(f"file path outside the tree: {f.path}")
    written = [dest]
    dest.mkdir()
    for f in files:
        target = dest / f.path
        for parent in reversed(target.relative_to(dest).parents[:-1]):
            if not (dest / parent).exists():
                (dest / parent).mkdir()
                written.append(dest / parent)
        target.write_text(f.text, encoding="utf-8")
        written.append(target)
    return written
