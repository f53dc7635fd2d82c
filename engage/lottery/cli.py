"""Command-line entry points: `engage panel select` and `engage panel verify`.

Exit codes: 0 done (verify: the record replays); 1 verify found a mismatch; 2 bad input
(malformed CSV, infeasible quotas, a panel size the pool cannot fill, usage errors).
Until the `engage` command exists: `python -m engage.lottery.cli select|verify ...`.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engage.lottery.csvio import read_pool, read_quotas
from engage.lottery.errors import LotteryError
from engage.lottery.record import quotas_from_json, verify
from engage.lottery.selection import Selection, select_panel


def _select_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="engage panel select", description="Draw a panel by lottery.")
    p.add_argument("--respondents", required=True, type=Path, help="pool CSV (one row per person)")
    p.add_argument("--categories", required=True, type=Path, help="quota CSV")
    p.add_argument("--size", required=True, type=int, help="panel size k")
    p.add_argument("--algorithm", choices=("leximin", "maximin", "legacy"), default="leximin")
    p.add_argument(
        "--seed",
        action="append",
        metavar="TEXT",
        help="a revealed seed part (repeat for several, in published order); default: random",
    )
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="ID",
        help="id that may not be selected",
    )
    p.add_argument(
        "--panels",
        type=int,
        default=1000,
        metavar="M",
        help="panels in the lottery (default 1000)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--record", type=Path, help="also write the draw record to this file")
    return p


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _as_json(sel: Selection, seed_parts: list[str], seconds: float) -> dict[str, Any]:
    prep = sel.prepared
    return {
        "panel": sel.panel,
        "reserve": sel.reserve,
        "probabilities": prep.probabilities,
        "lottery_probabilities": prep.lottery_probabilities,
        "min_probability": prep.min_probability,
        "dual_bound": prep.dual_bound,
        "max_rounding_deviation": prep.max_deviation,
        "seconds": seconds,
        "timings": {**prep.seconds, "draw_ms": sel.draw_ms},
        "seed": seed_parts,
        "record": sel.record,
    }


def _print_text(sel: Selection, seconds: float) -> None:
    prep = sel.prepared
    print(f"panel ({len(sel.panel)}): " + ", ".join(sel.panel))
    print("seed parts: " + ", ".join(repr(p["value"]) for p in sel.record["seed_parts"]))
    print(f"minimum selection probability: {prep.min_probability:.6%}")
    if prep.dual_bound is not None:
        print(f"proven best possible minimum:  {prep.dual_bound:.6%}")
    print(
        f"lottery of {len(sel.record['panels'])} panels, drawn index {sel.record['index']}; "
        f"max deviation from the fair probabilities {prep.max_deviation:.4%}"
    )
    print("selection probability per person:")
    for pid, p in sorted(prep.probabilities.items()):
        print(f"  {pid}\t{p:.6f}")
    timings = ", ".join(f"{k} {v:.3f}s" for k, v in prep.seconds.items())
    print(f"time: {seconds:.3f}s ({timings}, draw {sel.draw_ms:.1f}ms)")


def main_select(argv: Sequence[str] | None = None) -> int:
    args = _select_parser().parse_args(argv)
    seed_parts = args.seed or [secrets.token_hex(16)]
    started = time.perf_counter()
    try:
        quotas = read_quotas(args.categories)
        pool = read_pool(args.respondents, quotas)
        sel = select_panel(
            pool,
            quotas,
            args.size,
            seed_parts,
            algorithm=args.algorithm,
            exclusions=args.exclude,
            m=args.panels,
        )
    except LotteryError as e:
        return _fail(str(e))
    seconds = time.perf_counter() - started
    if args.record:
        args.record.write_text(json.dumps(sel.record, ensure_ascii=False), encoding="utf-8")
    if args.json:
        print(json.dumps(_as_json(sel, seed_parts, seconds), ensure_ascii=False))
    else:
        _print_text(sel, seconds)
    return 0


def main_verify(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="engage panel verify", description="Replay a draw record.")
    p.add_argument("record", type=Path, help="the draw record (JSON)")
    p.add_argument("--respondents", required=True, type=Path, help="the pool CSV used for the draw")
    args = p.parse_args(argv)
    try:
        record = json.loads(args.record.read_text(encoding="utf-8"))
        quotas = quotas_from_json(record["quotas"])
        pool = read_pool(args.respondents, quotas)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return _fail(f"cannot read the record: {e}")
    except LotteryError as e:
        return _fail(str(e))
    result = verify(record, pool)
    if not result.ok:
        print(f"mismatch: {result.mismatch}", file=sys.stderr)
        return 1
    print(f"ok: panel {record['index']} of {len(record['panels'])} reproduced")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {"select": main_select, "verify": main_verify}
    if not args or args[0] not in commands:
        print("usage: python -m engage.lottery.cli {select,verify} ...", file=sys.stderr)
        return 2
    return commands[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
