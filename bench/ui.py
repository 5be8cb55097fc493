"""What the UI's API costs as a run grows: each endpoint, first call after the run
changed (cold: computed) and again (warm: cached until the run writes again); then
the time and size of ``cambrian report`` and ``cambrian export-git`` on the same runs.

Synthetic stores of N candidates (4 islands, 2 features, failures, LLM calls), written
through ``Store.record``; requests through Starlette's TestClient (no network).

    python bench/ui.py [--sizes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import header  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from cambrian.ui.app import create_app  # noqa: E402
from tests.runs import synthetic_run  # noqa: E402

ENDPOINTS = ["summary", "curve", "tree", "grid", "arms", "failures", "programs?sort=-score&offset=5000&limit=50",
             "programs/{best}", "plot/score.svg", "plot/tree.svg", "plot/grid.svg"]


def measure(root: Path) -> dict[str, tuple[float, float, int]]:
    out = {}
    client = TestClient(create_app(root), base_url="http://127.0.0.1")
    best = client.get(f"/api/runs/{root.name}/summary").json()["best"]["id"]
    for name in ENDPOINTS:
        path = f"/api/runs/{root.name}/" + name.format(best=best)
        colds = []
        for _ in range(3):
            fresh = TestClient(create_app(root), base_url="http://127.0.0.1")  # nothing cached
            t = time.perf_counter()
            r = fresh.get(path)
            colds.append(time.perf_counter() - t)
            assert r.status_code == 200, (path, r.status_code)
        cold = statistics.median(colds)
        warm = []
        for _ in range(5):
            t = time.perf_counter()
            fresh.get(path)
            warm.append(time.perf_counter() - t)
        out[name.split("?")[0].replace("{best}", "<id>")] = (cold * 1000, statistics.median(warm) * 1000, len(r.content))
    return out


def files(root: Path, tmp: Path) -> dict[str, float]:
    """Seconds and sizes of ``cambrian report`` and ``cambrian export-git`` on the run."""
    import subprocess

    from cambrian.export_git import export
    from cambrian.html_report import write

    t = time.perf_counter()
    out = write(root, tmp / f"{root.name}.html")
    report_s = time.perf_counter() - t
    t = time.perf_counter()
    done = export(root, tmp / f"{root.name}-git")
    export_s = time.perf_counter() - t
    pack = subprocess.run(["git", "-C", done["dest"], "count-objects", "-v"], capture_output=True, text=True).stdout
    size = int(next(line.split()[1] for line in pack.splitlines() if line.startswith("size-pack")))
    return {"report_s": report_s, "report_kib": out.stat().st_size / 1024, "export_s": export_s,
            "commits": done["commits"], "merges": done["merges"], "pack_mib": size / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    args = parser.parse_args()
    results, made = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            root = synthetic_run(Path(tmp) / f"run{n}", n)
            results[n] = measure(root)
            made[n] = files(root, Path(tmp))
    print(header("UI API: milliseconds per request (cold = first after the run changed; warm = cached)"))
    print(f"median of 3 cold and 5 warm requests; load average at the end: "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (this machine is shared)\n")
    sizes = args.sizes
    print("| endpoint | " + " | ".join(f"{n:,}: cold / warm ms" for n in sizes) + f" | size at {sizes[-1]:,} |")
    print("|---|" + "---:|" * (len(sizes) + 1))
    for name in results[sizes[0]]:
        cells = [f"{results[n][name][0]:.0f} / {results[n][name][1]:.1f}" for n in sizes]
        print(f"| {name} | " + " | ".join(cells) + f" | {results[sizes[-1]][name][2] / 1024:.0f} KiB |")
    print("\n| candidates | report s | report KiB | export-git s | commits | crossover merges | pack MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        m = made[n]
        print(f"| {n:,} | {m['report_s']:.1f} | {m['report_kib']:.0f} | {m['export_s']:.1f} | {m['commits']:,} |"
              f" {m['merges']:,} | {m['pack_mib']:.1f} |")


if __name__ == "__main__":
    main()
