"""One sandbox per evaluation: candidates evaluated side by side cannot touch each other,
and failures of the machinery are retried and reported as infrastructure, not blamed
on the candidate."""

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

from cambrian.evaluation import INFRASTRUCTURE, OK, EvalResult, Limits, PoolEvaluator, ProcessEvaluator, Spec
from cambrian.evaluation import cgroups
from cambrian.evaluation.identity import UidLease
from tests.integration.test_evaluation import EVALUATOR, candidate
from tests.integration.test_hostile import ROOT_JAIL, left_behind

SEPARATED = """
from cambrian.candidate import load

def evaluate(path):
    return load(path).run()
"""

# Each honest candidate sleeps while the attackers run, then returns its own number if its
# program file is still its own (it was loaded before the attackers could rewrite it, so
# the score alone would not show a rewrite).
HONEST = ("time.sleep(1.5)\nmine = '1' 'e9' not in open(__file__).read()\n"
          "return {{'combined_score': {n}.0 if mine else -1.0}}")
ATTACKS = {
    "rewrite every program.py it can find":
        "import glob\nfor _ in range(30):\n"
        "    for p in glob.glob('/tmp/**/program.py', recursive=True) + glob.glob('/proc/*/cwd/program.py'):\n"
        "        try:\n            open(p, 'w').write('def run():\\n    return {\"combined_score\": 1e9}\\n')\n"
        "        except OSError:\n            pass\n    time.sleep(0.05)\nreturn {'combined_score': 0.0}",
    "SIGKILL to every process it may signal":
        "for _ in range(30):\n    try:\n        os.kill(-1, 9)\n    except OSError:\n        pass\n"
        "    time.sleep(0.05)\nreturn {'combined_score': 0.0}",
    "hold every thread the process limit allows":
        "import threading\nstop = threading.Event()\nn = 0\n"
        "try:\n    while n < 10000:\n        threading.Thread(target=stop.wait, daemon=True).start()\n        n += 1\n"
        "except RuntimeError:\n    pass\ntime.sleep(2)\nstop.set()\nreturn {'combined_score': 0.0}",
    "a setsid daemon":
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n"
        "return {'combined_score': 0.0}",
}


@pytest.mark.parametrize("evaluator", [EVALUATOR, SEPARATED], ids=["in-process", "separated"])
def test_side_by_side_candidates_cannot_touch_each_other(tmp_path, evaluator):
    path = tmp_path / "evaluate.py"
    path.write_text(evaluator)
    spec = Spec(path, timeout=30, limits=Limits(cpu_seconds=20, processes=64))

    async def go():
        ev = PoolEvaluator(spec)
        try:
            honest = [ev.evaluate(candidate(HONEST.format(n=n))) for n in range(1, 4)]
            hostile = [ev.evaluate(candidate(body)) for body in ATTACKS.values()]
            results = await asyncio.gather(*honest, *hostile)
            return results, ev.uids, left_behind(ev.uids)
        finally:
            await ev.close()

    results, uids, left = asyncio.run(go())
    honest, hostile = results[:3], results[3:]
    assert [(r.status, r.score) for r in honest] == [(OK, 1.0), (OK, 2.0), (OK, 3.0)], honest
    assert all(r.status != INFRASTRUCTURE for r in hostile), hostile
    assert not left, f"processes left behind: {left}"
    if ROOT_JAIL:
        assert len(uids) == 7  # one uid per evaluation in flight


@pytest.mark.skipif(not ROOT_JAIL, reason="uids are switched only when Cambrian runs as root")
def test_two_evaluators_never_share_a_uid(tmp_path):
    path = tmp_path / "evaluate.py"
    path.write_text(EVALUATOR)
    body = candidate("return {'combined_score': float(os.getuid())}")

    async def go():
        a, b = PoolEvaluator(Spec(path)), PoolEvaluator(Spec(path))
        try:
            results = await asyncio.gather(*(ev.evaluate(body) for ev in (a, b, a, b)))
            return results, set(a.uids), set(b.uids)
        finally:
            await a.close()
            await b.close()

    results, a, b = asyncio.run(go())
    uids = [int(r.score) for r in results]
    assert len(set(uids)) == 4 and not a & b, (uids, a, b)


def test_a_pool_server_killed_mid_evaluation_is_retried(tmp_path):
    path = tmp_path / "evaluate.py"
    path.write_text(EVALUATOR)

    async def go():
        ev = PoolEvaluator(Spec(path, timeout=30))
        try:
            await ev.evaluate(candidate("return {'combined_score': 0.0}"))
            first = ev._server.pid
            task = asyncio.ensure_future(ev.evaluate(candidate("time.sleep(1)\nreturn {'combined_score': 5.0}")))
            await asyncio.sleep(0.3)
            os.killpg(first, signal.SIGKILL)
            return await task, first, ev._server.pid
        finally:
            await ev.close()

    result, first, second = asyncio.run(go())
    assert result.status == OK and result.score == 5.0, result
    assert first != second


@pytest.mark.parametrize("kind", [PoolEvaluator, ProcessEvaluator])
def test_a_pool_that_cannot_start_is_an_infrastructure_failure(tmp_path, kind):
    path = tmp_path / "evaluate.py"
    path.write_text(EVALUATOR)

    async def go():
        ev = kind(Spec(path), python=str(tmp_path / "no-such-python"))
        try:
            return await ev.evaluate(candidate("return {'combined_score': 1.0}"))
        finally:
            await ev.close()

    r = asyncio.run(go())
    assert r.status == INFRASTRUCTURE
    assert r.reason.startswith("infrastructure: ") and "no-such-python" in r.reason and "3 attempts" in r.reason


@pytest.mark.skipif(not ROOT_JAIL, reason="uids are switched only when Cambrian runs as root")
def test_no_free_uid_is_an_infrastructure_failure(tmp_path):
    path = tmp_path / "evaluate.py"
    path.write_text(EVALUATOR)
    uid = 2_099_999_000 + os.getpid() % 997
    holder = UidLease(uid, uid)
    holder.acquire()  # another run holds the only uid in the range

    async def go():
        ev = PoolEvaluator(Spec(path, limits=Limits(sandbox_uids=(uid, uid))))
        try:
            return await ev.evaluate(candidate("return {'combined_score': 1.0}"))
        finally:
            await ev.close()

    try:
        r = asyncio.run(go())
    finally:
        holder.close()
    assert r.status == INFRASTRUCTURE and "in use" in r.reason


def test_a_sandbox_that_cannot_be_built_reports_its_traceback(tmp_path):
    """A job whose setup raises (here: its work directory vanished) is reported with the
    real error and traceback, never as a bare exit code."""
    path = tmp_path / "evaluate.py"
    path.write_text(EVALUATOR)

    class Vanishing(PoolEvaluator):
        async def _launch(self, job, pipes, workdir):
            workdir.remove()
            return await super()._launch(job, pipes, workdir)

    async def go():
        ev = Vanishing(Spec(path))
        try:
            return await ev.evaluate(candidate("return {'combined_score': 1.0}"))
        finally:
            await ev.close()

    r = asyncio.run(go())
    assert r.status == INFRASTRUCTURE, r
    assert "No such file or directory" in r.reason and "exit code 70" not in r.reason
    assert "Traceback" in r.feedback["traceback"]


class _Same:
    """Proposes the same child every time."""

    name = "same"
    needs_mate = False

    async def propose(self, parent, inspirations, context, rng):
        from cambrian.operators import Candidate

        return Candidate(parent.code.replace("x = 1.0", "x = 2.0"))


class _FlakyMachine:
    """The real evaluator behind an executor whose first evaluation fails as infrastructure."""

    def __init__(self, executor):
        self.inner = executor
        self.evaluator = executor.evaluator
        self.calls = 0

    async def run(self, code):
        self.calls += 1
        if self.calls == 2:  # the first candidate (call 1 is the initial program)
            return EvalResult(INFRASTRUCTURE, "infrastructure: fork failed: [Errno 11] Resource temporarily unavailable")
        return await self.inner.run(code)

    async def fingerprint(self, code):
        return await self.inner.fingerprint(code)

    async def close(self):
        await self.inner.close()


def test_infrastructure_failures_are_never_stored_as_the_programs_result(quadratic, tmp_path):
    from cambrian.session import build_runner, prepare

    problem, config, store, run_path = prepare(quadratic, overrides={"budget": 2, "workers": 1},
                                               run_dir=tmp_path / "run")
    runner = build_runner(problem, config, store, run_path)
    runner.operators = {name: _Same() for name in runner.operators}
    runner.executor = _FlakyMachine(runner.executor)

    async def go():
        try:
            return await runner.run(problem.initial_code)
        finally:
            await runner.close()

    stats = asyncio.run(go())
    assert stats.candidates == 2
    first, second = store.attempt(1), store.attempt(2)
    assert first.outcome == "failed" and first.reason.startswith("infrastructure: fork failed")
    # Not cached by code hash: the same code was evaluated for real the next time.
    assert second.outcome == "new" and store.program(second.program_id).status == OK


@pytest.mark.skipif(cgroups.delegated()[0] is None, reason=f"no delegated cgroup v2 subtree: {cgroups.delegated()[1]}")
def test_cgroup_limits_where_a_delegated_subtree_exists(tmp_path):
    path = tmp_path / "evaluate.py"
    path.write_text(EVALUATOR)

    async def go():
        ev = PoolEvaluator(Spec(path, limits=Limits(memory_mb=256)))
        try:
            return await ev.evaluate(candidate("x = bytearray(1024**3)\nreturn {'combined_score': 1.0}"))
        finally:
            await ev.close()

    r = asyncio.run(go())
    assert "cgroup_limits" in r.protections and r.status != OK


UNPRIVILEGED = """
import asyncio, json, os, sys, tempfile
from pathlib import Path
from cambrian.evaluation import Limits, PoolEvaluator, Spec

here = Path(sys.argv[1])
(here / "evaluate.py").write_text("from cambrian.candidate import load\\n\\ndef evaluate(path):\\n"
                                  "    return load(path).run()\\n")
program = '''
import os, subprocess, sys
def run():
    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)  # MARKER'], start_new_session=True)
    try:
        open(HERE + '/planted', 'w').write('x')
    except OSError:
        pass
    import shutil
    return {'combined_score': 1.0, 'processes': len([e for e in os.listdir('/proc') if e.isdigit()]),
            'work_mb': shutil.disk_usage('.').total / 2**20, 'tmp_mb': shutil.disk_usage('/tmp').total / 2**20}
'''.replace("HERE", repr(str(here))).replace("MARKER", sys.argv[2])

async def go():
    ev = PoolEvaluator(Spec(here / "evaluate.py", limits=Limits(cpu_seconds=10, disk_mb=24),
                            allow_env=("PYTHONPATH",)))
    try:
        r = await ev.evaluate(program)
        return {"status": r.status, "reason": r.reason, "metrics": r.metrics, "protections": r.protections,
                "missing": ev.last_missing, "userns_error": ev.userns_error}
    finally:
        await ev.close()

print(json.dumps(asyncio.run(go())))
"""


def test_without_root_each_evaluation_still_gets_its_own_namespaces(tmp_path):
    """As an unprivileged user (where the kernel allows user namespaces): PID namespace,
    private filesystem and no capabilities; a setsid daemon dies with the evaluation and
    a file written to /tmp lands in the evaluation's private /tmp, not the machine's; the work
    directory and /tmp are the one disk_mb budget."""
    import shutil
    import subprocess
    import tempfile
    import time

    from tests.integration.test_evaluation import marked

    python = "/usr/bin/python3"
    if os.geteuid() != 0 or not shutil.which("setpriv") or not os.access(python, os.X_OK):
        pytest.skip("needs root (to become an unprivileged user), setpriv and a system python3")
    here = Path(tempfile.mkdtemp(prefix="cambrian-unpriv-"))
    here.chmod(0o777)
    script = here / "run.py"
    script.write_text(UNPRIVILEGED)
    marker = f"cambrian-unpriv-{os.getpid()}-{time.monotonic_ns()}"
    try:
        out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python, str(script),
                              str(here), marker], capture_output=True, text=True, timeout=120, cwd="/",
                             env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(__file__).parents[2])})
        if out.returncode != 0 and "No module named" in out.stderr:
            pytest.skip(f"{python} cannot import the standard library modules needed: {out.stderr[-200:]}")
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["userns_error"]:
            pytest.skip(f"this kernel refuses unprivileged user namespaces: {result['userns_error']}")
        assert result["status"] == OK, result
        assert {"pid_namespace", "private_filesystem", "no_capabilities", "no_network"} <= set(result["protections"])
        assert result["metrics"]["processes"] <= 4
        assert result["metrics"]["work_mb"] == 24 and result["metrics"]["tmp_mb"] == 24, result  # one budget
        assert not (here / "planted").exists()
        deadline = time.monotonic() + 10
        while marked(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not marked(marker)
    finally:
        shutil.rmtree(here, ignore_errors=True)


def test_a_sandbox_setup_failure_leaves_no_directory_or_descriptor(tmp_path, monkeypatch):
    """Out of descriptors on the second pipe: an infrastructure failure, and neither the
    work directory nor the pipes made so far are left behind."""
    import tempfile

    from cambrian.evaluation import sandbox

    path = tmp_path / "evaluate.py"
    path.write_text(EVALUATOR)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    real_pipe, made = os.pipe, []

    def pipe():
        if len(made) % 3 == 1:
            raise OSError(24, "Too many open files")
        made.append(real_pipe())
        return made[-1]

    monkeypatch.setattr(sandbox.os, "pipe", pipe)

    async def go():
        ev = PoolEvaluator(Spec(path))
        try:
            return await ev.evaluate(candidate("return {'combined_score': 1.0}"))
        finally:
            await ev.close()

    r = asyncio.run(go())
    assert r.status == INFRASTRUCTURE and "Too many open files" in r.reason, r
    assert not list(tmp_path.glob("cambrian-*")), list(tmp_path.iterdir())
    assert made
    for r_fd, w_fd in made:
        for fd in (r_fd, w_fd):
            with pytest.raises(OSError):
                os.fstat(fd)


@pytest.mark.skipif(os.geteuid() != 0, reason="uid locks are taken only as root")
def test_uid_locks_are_never_taken_through_a_symlink(tmp_path, monkeypatch):
    """A user can plant /tmp/.cambrian-uids as a symlink to a root-owned directory (here
    /usr): it must not be accepted as the private lock directory."""
    from cambrian.evaluation import identity

    planted = tmp_path / "planted"
    planted.symlink_to("/usr")
    monkeypatch.setattr(identity, "LOCK_DIR", tmp_path / "no" / "such" / "dir")
    monkeypatch.setattr(identity, "FALLBACK_LOCK_DIR", planted)
    with pytest.raises(OSError, match="no private directory"):
        identity._lock_dir()
    private = tmp_path / "private"
    monkeypatch.setattr(identity, "FALLBACK_LOCK_DIR", private)
    assert identity._lock_dir() == private


@pytest.mark.skipif(not ROOT_JAIL, reason="sandbox uids are root's")
def test_a_uid_whose_evaluation_end_was_not_seen_stays_out_of_use(tmp_path):
    """If the job's exit never arrived, its uid may still run something: it is not handed
    to the next evaluation until no process on the machine has it."""
    import subprocess

    from cambrian.evaluation import sandbox

    path = tmp_path / "evaluate.py"
    path.write_text(EVALUATOR)
    uid = 2_099_998_000 + os.getpid() % 997
    straggler = []

    class Unseen(PoolEvaluator):
        async def _launch(self, job, pipes, workdir):
            uid_ = job["limits"]["sandbox_uid"]
            # What a lost job looks like: a process of its uid still runs, the exit never came.
            straggler.append(subprocess.Popen(["sleep", "600"], user=uid_, group=uid_))
            return sandbox.Finished(None, True, "", "", b"", 0.0, exit_seen=False)

    async def go():
        ev = Unseen(Spec(path, limits=Limits(sandbox_uids=(uid, uid))))
        try:
            first = await ev.evaluate(candidate("return {'combined_score': 1.0}"))
            with pytest.raises(OSError, match="in use"):
                ev.lease.acquire()  # the only uid is quarantined while the straggler lives
            straggler[0].kill()
            straggler[0].wait()
            return first, ev.lease.acquire()
        finally:
            await ev.close()

    try:
        first, again = asyncio.run(go())
    finally:
        for p in straggler:
            p.kill()
            p.wait()
    assert first.status == "timeout" and again == uid


def test_supervise_never_kills_a_group_once_the_job_has_ended():
    """The job's pid is reaped (and reusable) once its exit is reported: supervise must not
    kill that process group afterwards. Here an unrelated process holds that group."""
    import subprocess
    import time

    from cambrian.evaluation import sandbox

    bystander = subprocess.Popen(["sleep", "600"], start_new_session=True)
    killed = []

    async def go():
        pipes = sandbox.Pipes()
        pipes.close_write_ends()
        exited = asyncio.get_running_loop().create_future()
        exited.set_result(0)
        return await sandbox.supervise(pipes, kill=lambda: killed.append(True), exited=exited, timeout=5,
                                       start=time.monotonic())

    try:
        done = asyncio.run(go())
        assert done.returncode == 0 and done.exit_seen and not killed
        assert bystander.poll() is None, "a process group was killed after its leader was gone"
    finally:
        bystander.kill()
        bystander.wait()


def test_a_job_whose_pool_server_died_before_its_death_signal_exits(tmp_path):
    """PDEATHSIG set after the parent died never fires: confine checks the lifeline."""
    import subprocess
    import sys

    script = (
        "import os, sys\n"
        "sys.path.insert(0, %r)\n"
        "import jail, worker\n"
        "r, w = os.pipe()\n"
        "os.close(w)  # the pool server is gone: nobody holds the write end\n"
        "jail.confine({}, workdir=%r, parent_alive=lambda: worker.alive(r))\n"
        "print('still running')\n"
    ) % (str(Path(sandbox_module_dir())), str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 71 and "still running" not in done.stdout, (done.returncode, done.stderr)


def sandbox_module_dir():
    from cambrian.evaluation import jail

    return os.path.dirname(jail.__file__)
