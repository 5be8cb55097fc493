"""The Ray executor's logic (resubmission, hedging, late duplicates, back-pressure)
against a fake backend: no Ray needed. The real cluster: tests/integration/test_ray_cluster.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from cambrian.evaluation import INFRASTRUCTURE, OK, EvalResult, Spec
from cambrian.executors import InFlight
from cambrian.executors.ray import ExecutorError, RayExecutor, fits
from cambrian.report import executor_line


class NodeLost(Exception):
    pass


class FakeBackend:
    """Each submission is a future the test answers, fails or leaves hanging."""

    lost = (NodeLost,)
    address = "fake:1"

    def __init__(self, nodes):
        self._nodes = nodes
        self.submitted: list[tuple[int, asyncio.Future]] = []
        self.cancelled: list[int] = []

    def submit(self, spec, pool, code, mode, token):
        future = asyncio.get_running_loop().create_future()
        self.submitted.append((token, future))
        return future, token

    def cancel(self, handle):
        self.cancelled.append(handle)

    def nodes(self):
        return list(self._nodes)

    def available(self):
        """Free: the nodes' totals minus what runs (ours: the unanswered submissions) minus other jobs'."""
        running = sum(1 for _, f in self.submitted if not f.done())
        return {"CPU": sum(n.get("CPU", 0.0) for n in self._nodes) - running - self.others}

    others = 0.0

    def close(self):
        pass


SPEC = Spec(evaluator_path=Path("evaluate.py"), timeout=1.0)


def answer(token: int, score: float, node: str = "n1"):
    return token, node, EvalResult(OK, score=score)


async def settle():
    for _ in range(30):
        await asyncio.sleep(0)


def test_fits_counts_the_scarcest_resource():
    node = {"CPU": 8.0, "GPU": 1.0, "memory": 16 * 2**30}
    assert fits(node, cpus=1, memory_mb=None, gpus=0) == 8
    assert fits(node, cpus=2, memory_mb=None, gpus=0) == 4
    assert fits(node, cpus=1, memory_mb=4096, gpus=0) == 4
    assert fits(node, cpus=1, memory_mb=None, gpus=0.5) == 2
    assert fits({"CPU": 1.0}, cpus=1, memory_mb=None, gpus=1) == 0


def test_in_flight_mean_is_time_weighted():
    now = [0.0]
    tracker = InFlight(clock=lambda: now[0])
    tracker.enter()          # 1 in flight for 1 s
    now[0] = 1.0
    tracker.enter()          # 2 in flight for 1 s
    now[0] = 2.0
    tracker.leave()
    tracker.leave()
    assert tracker.max == 2 and tracker.now == 0 and tracker.mean == pytest.approx(1.5)


def test_a_lost_node_is_resubmitted_and_not_a_failure():
    async def main():
        backend = FakeBackend([{"CPU": 2.0}])
        ex = RayExecutor(SPEC, backend)
        call = asyncio.ensure_future(ex.run("code"))
        await settle()
        backend.submitted[0][1].set_exception(NodeLost("node died"))
        await settle()
        assert len(backend.submitted) == 2          # submitted again, with a new token
        token, future = backend.submitted[1]
        future.set_result(answer(token, 0.7))
        result = await call
        assert result.status == OK and result.score == 0.7
        assert ex.resubmitted == 1 and ex.describe()["resubmitted"] == 1
    asyncio.run(main())


def test_resubmits_are_bounded_then_infrastructure():
    async def main():
        backend = FakeBackend([{"CPU": 1.0}])
        ex = RayExecutor(SPEC, backend, resubmits=2)
        call = asyncio.ensure_future(ex.run("code"))
        for i in range(3):
            await settle()
            backend.submitted[i][1].set_exception(NodeLost("gone"))
        result = await call
        assert result.status == INFRASTRUCTURE and "lost 3 times" in result.reason
    asyncio.run(main())


def test_hedge_first_answer_wins_and_the_late_duplicate_is_ignored():
    async def main():
        backend = FakeBackend([{"CPU": 1.0}])
        ex = RayExecutor(SPEC, backend, hedge_after=0.05)
        call = asyncio.ensure_future(ex.run("code"))
        while len(backend.submitted) < 2:       # the first never answers in time: hedged
            await asyncio.sleep(0.01)
        token2, second = backend.submitted[1]
        second.set_result(answer(token2, 2.0, "n2"))
        result = await call
        assert result.score == 2.0 and ex.hedged == 1
        assert backend.submitted[0][0] in backend.cancelled   # the loser is stopped
        token1, first = backend.submitted[0]
        first.set_result(answer(token1, 1.0, "n1"))           # ... and answers anyway, late
        await settle()
        assert ex.late_ignored == 1 and ex.node_answers == {"n2": 1}
    asyncio.run(main())


def test_in_flight_follows_the_alive_nodes():
    async def main():
        backend = FakeBackend([{"CPU": 2.0}, {"CPU": 1.0}])
        ex = RayExecutor(SPEC, backend, max_in_flight=None)
        assert ex.slots == 3
        calls = [asyncio.ensure_future(ex.run(f"c{i}")) for i in range(5)]
        await settle()
        assert len(backend.submitted) == 3 and ex.in_flight.now == 3   # the rest wait for room
        token, future = backend.submitted[0]
        future.set_result(answer(token, 0.0))
        await settle()
        assert len(backend.submitted) == 4
        backend._nodes = [{"CPU": 1.0}]             # a node leaves: capacity shrinks to 1
        backend.submitted[1][1].set_exception(NodeLost("gone"))
        await settle()
        assert ex.slots == 1
        for token, future in backend.submitted[2:]:
            if not future.done():
                future.set_result(answer(token, 0.0))
        while not all(c.done() for c in calls):
            await asyncio.sleep(0.01)
            for token, future in backend.submitted:
                if not future.done():
                    future.set_result(answer(token, 0.0))
        assert all(c.result().status == OK for c in calls)
        assert ex.in_flight.max == 3 and ex.in_flight.now == 0
        assert "late duplicates ignored 0" in executor_line(ex.describe())
    asyncio.run(main())


def test_another_jobs_tasks_leave_less_room():
    async def main():
        backend = FakeBackend([{"CPU": 4.0}])
        backend.others = 3.0                        # another job holds 3 of the 4 CPUs
        ex = RayExecutor(SPEC, backend)
        assert ex.slots == 1
        calls = [asyncio.ensure_future(ex.run(f"c{i}")) for i in range(3)]
        await settle()
        assert len(backend.submitted) == 1
        backend.others = 0.0                        # it ends: ours take the room
        ex._read_at = -10.0
        token, future = backend.submitted[0]
        future.set_result(answer(token, 0.0))
        await settle()
        assert len(backend.submitted) == 3 and ex.slots == 4
        for token, future in backend.submitted[1:]:
            future.set_result(answer(token, 0.0))
        await asyncio.gather(*calls)
    asyncio.run(main())


def test_a_cluster_busy_with_another_job_at_the_start_is_waited_for_not_refused():
    """No free CPU now is not 'no node can hold one evaluation': the run starts and waits;
    the capacity it reports is what the alive nodes hold."""
    async def main():
        backend = FakeBackend([{"CPU": 2.0}])
        backend.others = 2.0                        # another job holds every CPU
        ex = RayExecutor(SPEC, backend)
        assert ex.describe()["capacity"] == 2 and "room for 2 evaluation(s)" in ex.summary(2)
        call = asyncio.ensure_future(ex.run("c"))
        await settle()
        token, future = backend.submitted[0]        # one at a time while the cluster is full
        future.set_result(answer(token, 1.0))
        assert (await call).score == 1.0
    asyncio.run(main())


def test_max_in_flight_caps_the_cluster():
    ex = RayExecutor(SPEC, FakeBackend([{"CPU": 64.0}]), max_in_flight=12)
    assert ex.slots == 12


def test_no_node_fits_is_one_clear_error():
    with pytest.raises(ExecutorError, match="no node of the cluster can hold one evaluation .*gpus 1"):
        RayExecutor(SPEC, FakeBackend([{"CPU": 4.0}]), gpus=1)


def test_the_local_path_never_imports_ray(quadratic, tmp_path):
    code = ("import sys, cambrian\n"
            f"cambrian.evolve({str(quadratic)!r}, run_dir={str(tmp_path / 'run')!r}, budget=3)\n"
            "from cambrian.report import status\n"
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_executor_flags_reach_the_config():
    from cambrian.cli import _overrides, _parser
    args = _parser().parse_args(["run", "p", "--ray-address", "10.0.0.1:6379"])
    assert _overrides(args)["executor.kind"] == "ray" and _overrides(args)["executor.address"] == "10.0.0.1:6379"


def test_a_cluster_nobody_answers_is_one_line_and_exit_2(tmp_path):
    from tests.runs import TOY
    out = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", str(TOY), "--run-dir", str(tmp_path / "r"),
                          "--budget", "2", "--quiet", "--ray-address", "127.0.0.9:6399"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("cambrian: error: executor ray: ")
    assert "no Ray cluster answers at 127.0.0.9:6399" in last or "Ray is not installed" in last


def test_the_start_line_says_when_workers_leave_the_cluster_idle():
    ex = RayExecutor(SPEC, FakeBackend([{"CPU": 4.0}, {"CPU": 4.0}]))
    assert "2 node(s) alive, room for 8 evaluation(s) at once (cpus 1 each)" in ex.summary(3)
    assert "raise --workers to 8 or more" in ex.summary(3) and "raise" not in ex.summary(8)
