"""Hostile candidates, one test each, against both evaluators (warm pool and fresh
interpreter): the candidate is recorded with the right status and a clear reason,
no process is left behind and the evaluator keeps working."""

import asyncio
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from cambrian.evaluation import ERROR, INVALID, OK, TIMEOUT, Limits, Spec
from tests.integration.test_evaluation import EVALUATOR, KINDS, candidate

BENIGN = candidate("return {'combined_score': 1.0}")
ROOT_JAIL = os.geteuid() == 0


def processes_of(uids) -> set[int]:
    """Live processes running as one of ``uids``: an evaluator's own candidates, since
    every evaluation runs as a uid that no other evaluation on the machine holds."""
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    status = f.read()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if int(fields["Uid"].split()[0]) in uids and not fields.get("State", "").strip().startswith("Z"):
                pids.add(int(entry))
    return pids


def left_behind(uids, wait: float = 10.0) -> set[int]:
    """Processes of ``uids`` still alive after a grace for the kernel to reap them."""
    deadline = time.monotonic() + wait
    while (left := processes_of(set(uids))) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture(params=sorted(KINDS))
def hostile(request, tmp_path):
    """Evaluate a hostile body, then a benign one with the same evaluator."""
    def run(body, *, timeout=20.0, evaluator=EVALUATOR, benign=BENIGN, raw=False, **limits):
        path = tmp_path / "evaluate.py"
        path.write_text(evaluator)
        spec = Spec(path, timeout=timeout, limits=Limits(**{"cpu_seconds": 5, **limits}))

        async def go():
            ev = KINDS[request.param](spec)
            try:
                bad = await ev.evaluate(body if raw else candidate(body))
                good = await ev.evaluate(benign)
                return bad, good, left_behind(ev.uids)
            finally:
                await ev.close()

        bad, good, left = asyncio.run(go())
        assert good.status == OK, f"the evaluator stopped working after a hostile candidate: {good}"
        assert not left, f"processes left behind: {left}"
        return bad

    return run


def test_cpu_limit_stops_a_busy_loop_before_the_wall_clock(hostile):
    r = hostile("while True:\n    pass", timeout=60.0, cpu_seconds=2)
    assert r.status == TIMEOUT and "CPU time limit" in r.reason


def test_infinite_sleep_hits_the_wall_clock(hostile):
    r = hostile("time.sleep(3600)", timeout=1.0)
    assert r.status == TIMEOUT and "timeout" in r.reason


def test_memory_bomb_is_an_error(hostile):
    r = hostile("x = bytearray(8 * 1024**3)\nreturn {'combined_score': 1.0}", memory_mb=1024)
    assert r.status == ERROR and "MemoryError" in r.reason


def test_deep_recursion_is_an_error(hostile):
    r = hostile("def f(n):\n    return f(n + 1) + 1\nreturn {'combined_score': f(0)}")
    assert r.status == ERROR and "RecursionError" in r.reason


def test_unbounded_recursion_limit_ends_at_a_limit(hostile):
    body = ("sys.setrecursionlimit(10**9)\n"
            "def f(n):\n    return f(n + 1) + 1\nreturn {'combined_score': f(0)}")
    r = hostile(body, memory_mb=1024, cpu_seconds=3)
    # Python 3.11+ keeps Python frames off the C stack: this ends at the memory or CPU limit.
    assert r.status in (ERROR, TIMEOUT) and r.reason


def test_huge_file_is_stopped_at_the_file_size_limit(hostile):
    r = hostile("open('big', 'wb').write(b'x' * (64 * 1024**2))\nreturn {'combined_score': 1.0}", file_mb=8)
    assert r.status == ERROR
    assert "File too large" in r.reason or "file size limit" in r.reason


def test_gigabyte_of_stdout_is_capped(hostile):
    body = "chunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)\nreturn {'combined_score': 2.0}"
    r = hostile(body, timeout=60.0, cpu_seconds=30)
    assert r.status == OK and r.score == 2.0
    assert len(r.feedback["stdout"]) <= 2000


@pytest.mark.parametrize("body, fragment", [
    ("return {'combined_score': float('nan')}", "nan"),
    ("return {'combined_score': float('inf')}", "inf"),
    ("return {'combined_score': [1.0] * 10**6}", "sequence"),
])
def test_garbage_scores(hostile, body, fragment):
    r = hostile(body)
    assert r.status == INVALID and fragment in r.reason


@pytest.mark.skipif(not ROOT_JAIL, reason="process limits bind only an unprivileged sandbox user")
def test_fork_bomb_dies_and_the_machine_does_not(hostile):
    body = "import os\nfor _ in range(100000):\n    os.fork()\nreturn {'combined_score': 1.0}"
    r = hostile(body, processes=64)
    assert r.status == ERROR


@pytest.mark.parametrize("target", ["os.getppid()", "-1", "1", "0"])
def test_signals_reach_only_the_candidates_own_sandbox(hostile, target):
    # The job is PID 1 of the candidate's PID namespace: SIGKILL from inside cannot
    # reach it, nor anything outside; the benign candidate after it still evaluates.
    r = hostile(f"os.kill({target}, 9)\nreturn {{'combined_score': 1.0}}")
    assert r.status in (OK, ERROR), r
    assert "pid_namespace" in r.protections or r.status == ERROR


@pytest.mark.skipif(not ROOT_JAIL, reason="needs the unprivileged sandbox user")
@pytest.mark.parametrize("target", ["/etc/cambrian-was-here", "{evaluator_dir}/planted.py"])
def test_writing_outside_the_work_directory_is_refused(hostile, tmp_path, target):
    target = target.format(evaluator_dir=tmp_path)
    r = hostile(f"open({target!r}, 'w').write('x')\nreturn {{'combined_score': 1.0}}")
    assert r.status == ERROR and ("PermissionError" in r.reason or "Read-only" in r.reason)
    assert not Path(target).exists()


@pytest.mark.skipif(not ROOT_JAIL, reason="needs the unprivileged sandbox user")
def test_reading_the_parents_environment_is_refused(hostile, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-for-test")
    r = hostile("data = open(f'/proc/{os.getppid()}/environ', 'rb').read()\n"
                "return {'combined_score': 1.0, 'leak': str(b'sk-secret' in data)}")
    # The parent is outside the candidate's PID namespace: there is no such process.
    assert r.status == ERROR and ("FileNotFoundError" in r.reason or "PermissionError" in r.reason)


def test_no_process_outside_the_sandbox_is_visible(hostile, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-for-test")
    body = ("seen, leaks = [], 0\n"
            "for entry in os.listdir('/proc'):\n"
            "    if entry.isdigit():\n"
            "        seen.append(entry)\n"
            "        try:\n"
            "            leaks += b'sk-secret' in open(f'/proc/{entry}/environ', 'rb').read()\n"
            "        except OSError:\n"
            "            pass\n"
            "return {'combined_score': 1.0, 'processes': len(seen), 'leaks': leaks}")
    r = hostile(body)
    assert r.status == OK and r.metrics["leaks"] == 0
    if "pid_namespace" in r.protections:
        assert r.metrics["processes"] <= 3  # the job (PID 1), the candidate and its server


def test_own_environment_holds_no_keys(hostile, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-for-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    r = hostile("return {'combined_score': 1.0, 'env': ' '.join(sorted(os.environ))}")
    assert r.status == OK and "KEY" not in r.feedback["env"]


@pytest.mark.skipif(not ROOT_JAIL, reason="needs the unprivileged sandbox user")
def test_root_home_is_hidden(hostile):
    r = hostile("return {'combined_score': 1.0, 'root': ' '.join(sorted(os.listdir('/root')))}")
    assert r.status == OK
    assert set(r.feedback["root"].split()) <= {".pyenv", ".local", ".cache"}


def test_no_network(hostile):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    try:
        r = hostile(f"socket.create_connection(('127.0.0.1', {port}), timeout=2)\nreturn {{'combined_score': 1.0}}")
        if "no_network" not in r.protections and r.status == OK:
            pytest.skip("this kernel refuses network namespaces to this user")
        assert r.status == ERROR and ("unreachable" in r.reason or "refused" in r.reason)
        assert not accepted
    finally:
        server.close()


def test_network_can_be_allowed(hostile):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        r = hostile(f"socket.create_connection(('127.0.0.1', {port}), timeout=2)\nreturn {{'combined_score': 1.0}}",
                    no_network=False)
        assert r.status == OK
    finally:
        server.close()


@pytest.mark.xfail(strict=True, reason="an evaluator that imports the candidate itself shares its process; "
                                       "cambrian.candidate.load separates them (tests below)")
def test_monkeypatching_an_in_process_evaluator(hostile):
    evaluator = EVALUATOR.replace("def evaluate(path):\n    return load(path).run()",
                                  "def score(x):\n    return 0.0\n\n"
                                  "def evaluate(path):\n    load(path).run()\n    return {'combined_score': score(1)}")
    r = hostile("import sys\nsys.modules['evaluate'].score = lambda x: 1e9\nreturn None", evaluator=evaluator)
    assert r.score == 0.0


SEPARATED = """
from cambrian.candidate import load

SECRET = "expected-" + "answer-" + "4242"

def score(value):
    return 1.0 if value == SECRET else 0.0

def evaluate(path):
    return {"combined_score": score(load(path).run())}
"""


@pytest.mark.parametrize("attack", [
    # Patch the scoring function: the evaluator is not in this process.
    "sys.modules['evaluate'].score = lambda v: 1e9",
    # Find the answer in memory: it was never here.
    "import gc\nhits = [o for o in gc.get_objects() if isinstance(o, str) and 'answer-4242' in o]\nreturn hits[0]",
    # Read it from the evaluator's memory: it is not dumpable.
    "data = open(f'/proc/{os.getppid()}/mem', 'rb').read()",
    # Forge the report on an inherited descriptor: there is none to write to.
    "import json\nfor fd in range(3, 64):\n    try:\n        os.write(fd, json.dumps({'result': {'combined_score': 1e9}}).encode())\n"
    "    except OSError:\n        pass\nos._exit(0)",
    # Kill the evaluator before it reports: the candidate fails, it does not win.
    "os.kill(os.getppid(), 9)\ntime.sleep(5)",
])
def test_candidate_cannot_reach_a_separated_evaluator(hostile, attack):
    r = hostile(attack + "\nreturn 'no answer'", evaluator=SEPARATED)
    assert r.score in (None, 0.0), r
    assert r.status in (OK, ERROR)


def test_separated_evaluator_gets_values_and_errors(hostile):
    evaluator = """
from cambrian.candidate import CandidateError, load

def evaluate(path):
    program = load(path)
    value = program.run()
    try:
        program.bad()
    except CandidateError as exc:
        message = str(exc)
    return {"combined_score": float(value.sum()), "limit": program.LIMIT, "message": message}
"""
    # bad() returns a function by reference: unpickling it would hand the candidate a
    # call into the evaluator's process.
    program = ("import os\nimport numpy\n\nLIMIT = {limit}\n\ndef run():\n    return numpy.arange({n})\n\n"
               "def bad():\n    return os.system\n")
    r = hostile(program.format(limit=7, n=4.0), evaluator=evaluator, raw=True,
                benign=program.format(limit=1, n=2.0))
    assert r.status == OK and r.score == 6.0
    assert r.metrics["limit"] == 7
    assert "may not cross" in r.feedback["message"]


def test_protections_are_reported(hostile):
    r = hostile("return {'combined_score': 1.0}")
    assert r.status == OK
    assert {"no_core_dumps", "memory_limit", "open_files_limit", "file_size_limit", "cpu_limit"} <= set(r.protections)
    if ROOT_JAIL:
        assert {"own_uid", "private_filesystem", "pid_namespace", "no_network", "process_limit"} <= set(r.protections)


WRITE_EVERYWHERE = """written, error = 0, ''
for i in range(40):
    where = ['.', '/tmp', '/var/tmp', '/dev/shm'][i % 4]
    try:
        with open(os.path.join(where, 'f%d' % i), 'wb') as f:
            f.write(b'x' * (2 << 20))
        written += 2
    except OSError as exc:
        error = exc.strerror
        break
return {'combined_score': float(written), 'error': error}"""


def test_all_an_evaluation_writes_together_is_bounded_by_disk_mb(hostile):
    # 2 MB files (under the 8 MB per-file cap) round-robin over the work directory, /tmp,
    # /var/tmp and /dev/shm: the four share one 16 MB budget, whatever the host disk holds.
    r = hostile(WRITE_EVERYWHERE, file_mb=8, disk_mb=16)
    assert r.status == OK, r
    if "private_filesystem" not in r.protections:
        pytest.skip("the kernel refused a private mount namespace: no disk budget")
    assert r.score <= 16 and r.feedback["error"] == "No space left on device", r


def test_the_work_directory_is_the_budget_and_holds_the_program(hostile):
    r = hostile("import shutil\nreturn {'combined_score': float(open('program.py').read().count('def run')),\n"
                "        'size_mb': shutil.disk_usage('.').total / 2**20,\n"
                "        'tmp_mb': shutil.disk_usage('/tmp').total / 2**20}", disk_mb=32)
    assert r.status == OK and r.score >= 1.0, r
    if "private_filesystem" in r.protections:
        assert r.metrics["size_mb"] == 32 and r.metrics["tmp_mb"] == 32, r


@pytest.fixture
def shared_dir():
    """A directory every user may traverse, outside /tmp (pytest's own is 0700, which
    would hide any file in it from a sandbox uid whatever the sandbox does)."""
    here = Path(__file__).resolve().parents[2]
    if any(not p.stat().st_mode & 0o001 for p in (here, *here.parents)):
        pytest.skip(f"{here} is not reachable by other users anyway")
    path = Path(tempfile.mkdtemp(prefix=".test-shared-", dir=here))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.mark.skipif(not ROOT_JAIL, reason="the file is hidden from a sandbox uid; see the README")
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_candidate_cannot_read_evaluate_py(shared_dir, kind):
    path = shared_dir / "evaluate.py"
    path.write_text(EVALUATOR)
    path.chmod(0o644)
    sibling = shared_dir / "data.txt"
    sibling.write_text("shared data")
    sibling.chmod(0o644)
    body = (f"try:\n    open({str(path)!r}).read()\n    hidden = 0.0\nexcept PermissionError:\n    hidden = 1.0\n"
            f"return {{'combined_score': hidden, 'sibling': float(open({str(sibling)!r}).read() == 'shared data')}}")

    async def go():
        ev = KINDS[kind](Spec(path, timeout=20, limits=Limits(cpu_seconds=5)))
        try:
            return await ev.evaluate(candidate(body))
        finally:
            await ev.close()

    r = asyncio.run(go())
    assert r.status == OK and r.metrics["sibling"] == 1.0, r
    assert r.score == 1.0, "the candidate read evaluate.py"


def test_an_evaluators_traceback_still_shows_its_source(hostile):
    # evaluate.py is covered in the sandbox; the evaluator keeps its source for tracebacks.
    evaluator = EVALUATOR.replace("def evaluate(path):", "def evaluate(path):\n"
                                  "    if 'boom' in open(path).read():\n        raise ValueError('marker-line')")
    r = hostile("return {'combined_score': 1.0}  # boom", evaluator=evaluator,
                benign="def run():\n    return {'combined_score': 1.0}\n", raw=False)
    assert r.status == ERROR and "raise ValueError('marker-line')" in r.feedback["traceback"], r
