"""The per-evaluation sandbox: its cost against the previous one, and a stress run.

1. Throughput: trivial evaluations through the warm pool, two in flight, every
   protection on, with this checkout against another one (``--before DIR``, e.g. a
   ``git archive`` of the commit before the per-evaluation sandbox). Runs alternate
   between the two so that machine load falls on both alike; the CPU time per
   evaluation (this process plus the pool server and every job it reaped) is shown
   beside the wall-clock rate because it barely moves with load.
2. Stress: honest candidates (each returns its own number after a pause) evaluated
   side by side with hostile ones (rewrite every program.py in reach, SIGKILL to
   every process, a fork bomb, hold every thread allowed, a setsid daemon, a busy
   loop, a memory bomb). Honest results must be exact, nothing lost, no process left.

    python bench/sandbox.py --before /tmp/cambrian-before [--n 300] [--repeats 5] [--stress 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from _machine import header  # noqa: E402


def rate(source: Path, n: int) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{source}:{HERE}"}
    out = subprocess.run([sys.executable, str(HERE / "_rate.py"), str(n), "2"], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def throughput(before: Path | None, n: int, repeats: int) -> None:
    sources = {"this checkout: PID namespace, own uid, private filesystem per evaluation": ROOT}
    if before is not None:
        sources = {"before: one shared sandbox user, shared /tmp, process group": before, **sources}
    runs: dict[str, list[dict]] = {k: [] for k in sources}
    for _ in range(repeats):
        for label, source in sources.items():
            runs[label].append(rate(source, n))
    print(header(f"Sandbox cost: trivial evaluations, warm pool, 2 in flight, {n} per run, {repeats} runs each"))
    print("| sandbox | evaluations/s (median) | range | CPU ms per evaluation (median) | failed |")
    print("|---|---:|---:|---:|---:|")
    for label, results in runs.items():
        rates = [r["rate"] for r in results]
        cpu = statistics.median(r["cpu_ms"] for r in results)
        print(f"| {label} | {statistics.median(rates):,.0f} | {min(rates):,.0f}-{max(rates):,.0f} | {cpu:.2f} "
              f"| {sum(r['failed'] for r in results)} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    last = runs[list(sources)[-1]][-1]
    print(f"protections in force (this checkout): {', '.join(last['protections'])}\n")


# Loaded before the attackers could rewrite it: the file is checked too, or a rewrite would not show.
HONEST = ("def run():\n    import time\n    time.sleep(0.3)\n"
          "    mine = '\"combined_score\": ' '-1.0' not in open(__file__).read()\n"
          "    return {{'combined_score': {n}.0 if mine else -1.0}}\n")
ATTACKS = {
    "rewrite every program.py": (
        "def run():\n    import glob, time\n    for _ in range(20):\n"
        "        for p in glob.glob('/tmp/**/program.py', recursive=True) + glob.glob('/proc/*/cwd/program.py'):\n"
        "            try:\n                open(p, 'w').write('def run():\\n    return {\"combined_score\": -1.0}\\n')\n"
        "            except OSError:\n                pass\n        time.sleep(0.02)\n"),
    "SIGKILL to every process": (
        "def run():\n    import os, time\n    for _ in range(20):\n        try:\n            os.kill(-1, 9)\n"
        "        except OSError:\n            pass\n        time.sleep(0.02)\n"),
    "fork bomb": "def run():\n    import os\n    while True:\n        os.fork()\n",
    "hold every thread allowed": (
        "def run():\n    import threading, time\n    stop = threading.Event()\n    try:\n"
        "        for _ in range(100000):\n            threading.Thread(target=stop.wait, daemon=True).start()\n"
        "    except RuntimeError:\n        pass\n    time.sleep(1)\n"),
    "setsid daemon": (
        "def run():\n    import subprocess, sys\n"
        "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)  # {marker}'],"
        " start_new_session=True)\n"),
    "busy loop": "def run():\n    while True:\n        pass\n",
    "memory bomb": "def run():\n    x = bytearray(8 * 1024**3)\n",
}
EVALUATOR = "from cambrian.candidate import load\n\ndef evaluate(path):\n    return load(path).run()\n"


def marked(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
    return found


def stress(total: int, in_flight: int) -> None:
    from cambrian.evaluation import INFRASTRUCTURE, OK, Limits, PoolEvaluator, Spec
    from tests.integration.test_hostile import processes_of

    marker = f"cambrian-stress-{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="cambrian-stress-"))
    tmp.chmod(0o755)
    (tmp / "evaluate.py").write_text(EVALUATOR)
    spec = Spec(tmp / "evaluate.py", timeout=5, limits=Limits(cpu_seconds=3, memory_mb=1024, processes=64))
    jobs = []
    attacks = list(ATTACKS.items())
    for i in range(total):
        if i % 2 == 0:
            jobs.append(("honest", i, HONEST.format(n=i)))
        else:
            name, code = attacks[(i // 2) % len(attacks)]
            jobs.append((name, i, code.replace("{marker}", marker) + f"# {i}\n"))

    async def go():
        ev = PoolEvaluator(spec)
        limit = asyncio.Semaphore(in_flight)

        async def one(job):
            async with limit:
                return job, await ev.evaluate(job[2])

        try:
            start = time.perf_counter()
            results = await asyncio.gather(*(one(j) for j in jobs))
            seconds = time.perf_counter() - start
            deadline = time.monotonic() + 10
            while (left := processes_of(set(ev.uids))) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return results, seconds, left, len(ev.uids)
        finally:
            await ev.close()

    results, seconds, left, uids = asyncio.run(go())
    escaped = marked(marker)
    honest = [(job, r) for job, r in results if job[0] == "honest"]
    exact = sum(r.status == OK and r.score == float(job[1]) for job, r in honest)
    infra = sum(r.status == INFRASTRUCTURE for _, r in results)
    print(header(f"Stress: {total} candidates, half hostile, {in_flight} in flight, one warm pool"))
    print("| candidates | honest | honest results exact | hostile | infrastructure failures | results lost "
          "| processes left | uids used | wall s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {total} | {len(honest)} | {exact} | {total - len(honest)} | {infra} | {total - len(results)} "
          f"| {len(left) + len(escaped)} | {uids} | {seconds:.1f} |")
    print("\n| hostile candidate | statuses (reason, first) |")
    print("|---|---|")
    for name in ATTACKS:
        rs = [r for job, r in results if job[0] == name]
        statuses: dict[str, str] = {}
        for r in rs:
            statuses.setdefault(r.status, r.reason.splitlines()[0][:70].replace("|", "/") if r.reason else "")
        print(f"| {name} | " + "; ".join(f"{len([r for r in rs if r.status == s])} {s} ({why})"
                                         for s, why in statuses.items()) + " |")
    wrong = [(job[1], r.status, r.score, r.reason[:80]) for job, r in honest
             if not (r.status == OK and r.score == float(job[1]))]
    if wrong:
        print("\nhonest candidates with a wrong result:", wrong)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--before", type=Path, help="a checkout of the previous sandbox to compare with "
                        "(e.g. git archive d33a238 | tar -x -C /tmp/old-sandbox)")
    parser.add_argument("--n", type=int, default=300, help="evaluations per throughput measurement")
    parser.add_argument("--repeats", type=int, default=5,
                        help="throughput measurements per sandbox, alternating (0: skip the throughput table)")
    parser.add_argument("--stress", type=int, default=120, help="candidates in the stress run (0: skip)")
    parser.add_argument("--in-flight", type=int, default=8, help="stress candidates evaluated at once")
    args = parser.parse_args()
    if args.repeats:
        throughput(args.before, args.n, args.repeats)
    if args.stress:
        stress(args.stress, args.in_flight)


if __name__ == "__main__":
    main()
