"""Load the candidate program from an evaluator, in a process of its own.

    from cambrian.candidate import load

    def evaluate(program_path):
        program = load(program_path)
        centers, radii = program.construct()   # runs in the candidate's process
        ...

Under Cambrian, ``load`` returns a proxy: every call runs in a separate, confined
process that was started before the evaluator was loaded, so the candidate can
neither patch the evaluator's functions nor read its state or answers from
memory, and it cannot write the evaluator's report. Values cross as pickles that
the evaluator's side decodes with an allow-list (builtins, numpy arrays and
scalars): a candidate cannot smuggle code back. Outside Cambrian (running
evaluate.py by hand) ``load`` imports the program in-process.

Standard library only; imported by the candidate's worker process.
"""

from __future__ import annotations

import importlib.util
import io
import os
import pickle
import socket
import struct
import sys
import traceback
from typing import Any

MAX_MESSAGE = 256 * 1024 * 1024
# Between a candidate's own traceback and the evaluator's frames that reached it (worker.py).
EVALUATOR_PART = "\nreached from the evaluator:\n"
_HEADER = struct.Struct("!Q")

_channel: "_Channel | None" = None


class CandidateError(RuntimeError):
    """The candidate raised, died, or returned something that may not cross.

    When the candidate raised, ``kind`` is its exception's type name and ``tail`` its
    traceback (the candidate's own frames): what a user needs, not this wrapper."""

    def __init__(self, message: str, *, kind: str | None = None, tail: str = ""):
        super().__init__(message)
        self.kind = kind
        self.tail = tail


class CandidateDied(CandidateError):
    """The candidate's process ended (its exit code or signal is in the message)."""


def load(program_path: str) -> Any:
    """The candidate program as a module (a proxy to it under Cambrian). For a program of
    several files, ``program_path`` is a file of its tree (``os.path.join(tree, "solver.py")``):
    it is imported with the tree on ``sys.path``, so its own imports of the tree's modules work."""
    if _channel is None:
        parent = os.path.dirname(os.path.abspath(program_path))
        if parent not in sys.path:  # a file of a tree imports its siblings
            sys.path.insert(0, parent)
        return _import(program_path, "candidate")
    return _Proxy(_channel, os.path.abspath(program_path))


def _import(path: str, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- wire ------------------------------------------------------------------
def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket) -> bytes:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    if size > MAX_MESSAGE:
        raise CandidateError(f"the candidate sent {size} bytes, more than the {MAX_MESSAGE} allowed")
    return _recv_exact(sock, size)


_ALLOWED = {
    ("builtins", "complex"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "bytearray"),
    ("builtins", "slice"), ("builtins", "range"), ("collections", "OrderedDict"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise CandidateError(f"the candidate returned a value of a type that may not cross: {module}.{name}")
        return super().find_class(module, name)


def safe_loads(data: bytes) -> Any:
    """Decode a value from the candidate: plain data and numpy arrays only."""
    return _SafeUnpickler(io.BytesIO(data)).load()


# -- evaluator side --------------------------------------------------------
class _Channel:
    def __init__(self, sock: socket.socket, pid: int):
        self.sock = sock
        self.pid = pid

    def request(self, message: tuple) -> Any:
        try:
            _send(self.sock, pickle.dumps(message, protocol=5))
            kind, *rest = safe_loads(_recv(self.sock))
        except (EOFError, OSError):
            raise CandidateDied(f"the candidate process died ({self._how()})") from None
        if kind == "ok":
            return rest[0]
        if kind == "callable":
            return _Remote(self, message[1], message[-1] if message[0] == "getattr" and len(message) > 2 else None)
        type_name, text, tail = rest
        raise CandidateError(f"{type_name}: {text}", kind=type_name, tail=tail)

    def _how(self) -> str:
        import time

        # The channel closes a moment before the process is reaped: wait briefly for its status.
        for _ in range(50):
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return "already reaped"
            if pid != 0:
                break
            time.sleep(0.02)
        else:
            return "it closed the channel"
        code = os.waitstatus_to_exitcode(status)
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


class _Remote:
    """A function of the candidate; calling it runs it in the candidate's process."""

    def __init__(self, channel: _Channel, name: str, path: str | None = None):
        self._channel = channel
        self._name = name
        self._path = path

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.request(("call", self._name, args, kwargs, self._path))

    def __repr__(self) -> str:
        return f"<candidate function {self._name}>"


class _Proxy:
    def __init__(self, channel: _Channel, path: str | None = None):
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._channel.request(("getattr", name, self._path))

    def __setattr__(self, name: str, value: Any) -> None:
        raise CandidateError("cannot set attributes of the candidate program")


def install(sock: socket.socket, pid: int) -> None:
    """Called by Cambrian's worker in the evaluator's process."""
    global _channel
    _channel = _Channel(sock, pid)


# -- candidate side ----------------------------------------------------------
def _module_path(program_path: str, asked: str | None) -> str:
    """The file to import for a request: the program, or (a program that is a tree) the file
    of the tree the evaluator named; never a file outside the program."""
    if not os.path.isdir(program_path):
        return program_path
    root = os.path.realpath(program_path)
    path = os.path.realpath(asked) if asked else ""
    if not path.startswith(root + os.sep) or not os.path.isfile(path):
        raise CandidateError(f"load() of a program tree needs a file in it, as os.path.join(program_path, "
                             f"'module.py'); got {asked!r}")
    return path


def serve(sock: socket.socket, program_path: str) -> None:
    """In the candidate's process: import the program on first use, answer requests."""
    modules: dict[str, Any] = {}
    if os.path.isdir(program_path):
        sys.path.insert(0, program_path)  # the tree's modules import each other
    while True:
        try:
            request = pickle.loads(_recv(sock))
        except (EOFError, OSError, CandidateError):
            return
        path = program_path
        try:
            asked = request[-1] if len(request) in (3, 5) else None
            path = _module_path(program_path, asked)
            if path not in modules:
                modules[path] = _import(path, "candidate")
            module = modules[path]
            kind, name = request[0], request[1]
            value = getattr(module, name)
            if kind == "getattr":
                reply = ("callable",) if callable(value) else ("ok", value)
            else:
                reply = ("ok", value(*request[2], **request[3]))
            data = pickle.dumps(reply, protocol=5)
        except BaseException as exc:  # the candidate's failure is the evaluator's information
            tail = _own_traceback(exc, path)
            try:
                data = pickle.dumps(("error", type(exc).__name__, str(exc)[:2000], tail), protocol=5)
            except Exception:
                data = pickle.dumps(("error", "Exception", "unpicklable error", ""), protocol=5)
        try:
            _send(sock, data)
        except OSError:
            return
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass


def _own_traceback(exc: BaseException, program_path: str) -> str:
    """The candidate's traceback from its own first frame on (no importlib or Cambrian frames)."""
    return short_traceback(exc, start=program_path)


def short_traceback(exc: BaseException, *, start: str | None = None, skip: str | None = None,
                    limit: int = 20) -> str:
    """A traceback a user can read, whatever the depth: from the first frame of file ``start``
    (when one is among the first 200), without frames under the path ``skip``, the last
    ``limit`` frames at most. The frames are walked, never all formatted or kept, so
    a million-frame recursion costs little; the error line itself is always whole."""
    import collections

    try:
        tb = exc.__traceback__
        if start is not None:
            probe, depth = tb, 0
            while probe is not None and depth < 200 and probe.tb_frame.f_code.co_filename != start:
                probe, depth = probe.tb_next, depth + 1
            if probe is not None and depth < 200:
                tb = probe
        kept: collections.deque = collections.deque(maxlen=limit)
        dropped = 0
        while tb is not None:
            if skip is None or not tb.tb_frame.f_code.co_filename.startswith(skip):
                dropped += len(kept) == limit
                kept.append((tb.tb_frame, tb.tb_lineno))
            tb = tb.tb_next
        lines = ["Traceback (most recent call last):\n"]
        if dropped:
            lines.append(f"  ... {dropped} earlier frames not shown\n")
        lines += traceback.StackSummary.extract(iter(kept)).format()
    except Exception:  # out of memory while describing an out-of-memory error, say
        lines = []
    return "".join(lines + traceback.format_exception_only(type(exc), exc))
