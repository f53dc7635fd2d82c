"""Benchmark: the lottery's leximin against the peer `sortition-algorithms`, per shared instance.

    python bench/panel.py [--instances DIR] [--peer-timeout S] [--no-peer] [--only NAME]

Prints one JSON object per line and instance. Every measurement runs in its own subprocess, one
at a time (the machine is small and shared), so peak RSS is per run and a peer that hangs can be
stopped. The peer (bench-only dependency, `sortition-algorithms` with `mip<2`) runs with its CBC
backend ("mip"), the fastest in PEER.md; its leximin needs Gurobi and is reported null without it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INSTANCES = (ROOT / ".." / "shared" / "bench" / "sortition" / "instances").resolve()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_worker(folder: Path) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from engage.lottery import draw, prepare, read_pool, read_quotas

    quotas = read_quotas(folder / "categories.csv")
    pool = read_pool(folder / "respondents.csv", quotas)
    k = int(folder.name.rsplit("_", 1)[1])
    prepared = prepare(pool, quotas, k, algorithm="leximin")
    t0 = time.perf_counter()
    draw(prepared, ["bench seed"])
    draw_ms = (time.perf_counter() - t0) * 1000
    dist = prepared.distribution
    assert dist is not None and dist.stats is not None
    return {
        "n": len(pool.people),
        "k": k,
        "seconds": round(dist.stats.seconds, 3),
        "prepare_seconds": round(sum(prepared.seconds.values()), 3),
        "draw_ms": round(draw_ms, 2),
        "min_probability": dist.min_probability,
        "optimality_gap": dist.optimality_gap,
        "support_size": len(dist.panels),
        "method": dist.stats.method,
        "max_rounding_deviation": prepared.max_deviation,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def peer_worker(folder: Path, algorithm: str) -> dict[str, Any]:
    import csv

    from sortition_algorithms.committee_generation.leximin import (
        find_distribution_leximin,
    )
    from sortition_algorithms.committee_generation.maximin import (
        find_distribution_maximin,
    )
    from sortition_algorithms.features import read_in_features
    from sortition_algorithms.people import read_in_people
    from sortition_algorithms.settings import Settings

    k = int(folder.name.rsplit("_", 1)[1])
    with open(folder / "categories.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head = [
        "feature",
        "value",
        *rows[0][2:],
    ]  # Panelot's category,feature -> feature,value
    body = [dict(zip(head, r, strict=True)) for r in rows[1:]]
    features, _, _ = read_in_features(head, body, k)
    with open(folder / "respondents.csv", encoding="utf-8") as f:
        people_rows = list(csv.DictReader(f))
    id_col = next((c for c in ("id", "nationbuilder_id") if c in people_rows[0]), "id")
    for i, r in enumerate(people_rows):
        r.setdefault(id_col, str(i))
    settings = Settings(id_column=id_col, columns_to_keep=[])
    people, _ = read_in_people(list(people_rows[0]), people_rows, features, settings)
    find = find_distribution_maximin if algorithm == "maximin" else find_distribution_leximin
    t0 = time.perf_counter()
    committees, probabilities, _ = find(features, people, k, [], "mip")
    seconds = time.perf_counter() - t0
    marginal = {pid: 0.0 for pid in people}
    for committee, p in zip(committees, probabilities, strict=True):
        for pid in committee:
            marginal[pid] += p
    return {"seconds": round(seconds, 2), "min_probability": min(marginal.values())}


def _run(args: list[str], timeout: float) -> dict[str, Any] | None:
    try:
        done = subprocess.run(
            [sys.executable, __file__, *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return None
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _peer(folder: Path, timeout: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for algorithm in ("maximin", "leximin"):
        res = _run(["--peer-worker", str(folder), algorithm], timeout)
        out[f"{algorithm}_seconds"] = res["seconds"] if res else None
        out[f"{algorithm}_min_probability"] = res["min_probability"] if res else None
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--instances", type=Path, default=DEFAULT_INSTANCES)
    p.add_argument("--peer-timeout", type=float, default=600.0, metavar="S")
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--only", action="append", help="instance name (repeatable)")
    p.add_argument("--own-worker", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--peer-worker", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.own_worker:
        print(json.dumps(own_worker(args.own_worker)))
        return 0
    if args.peer_worker:
        print(json.dumps(peer_worker(Path(args.peer_worker[0]), args.peer_worker[1])))
        return 0
    for folder in sorted(args.instances.iterdir()):
        if not (folder / "respondents.csv").exists() or (args.only and folder.name not in args.only):
            continue
        own = _run(["--own-worker", str(folder)], timeout=3600) or {"error": "did not finish"}
        row: dict[str, Any] = {"instance": folder.name, **own}
        row["peer"] = None if args.no_peer else _peer(folder, args.peer_timeout)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
