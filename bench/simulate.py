"""Benchmark: `eas simulate`, by default the simulator issue's "done when" command

    eas simulate protocols/ai-connection.yaml --participants 200 --days 14 --seed 1 --out DIR

run as a user runs it (a fresh process, start-up, export and report included) into a temporary
folder. Prints the wall time (target: under a minute), the CPU time of the command and the
processes it started (the shards run side by side, one per core), participant-days per second
and participants' texts per second. Run from the repository root:

    .venv/bin/python bench/simulate.py [--participants 200] [--days 14] [--seed 1]
        [--protocol protocols/ai-connection.yaml] [--keep DIR]

--keep writes the pilot to DIR (which must not exist) and leaves it there, to look at.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EAS = Path(sys.executable).with_name("eas")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--protocol", default="protocols/ai-connection.yaml")
    parser.add_argument("--keep", type=Path, help="write the pilot here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eas-bench-simulate-") as scratch:
        out = args.keep or Path(scratch) / "pilot"
        command = [
            str(EAS), "simulate", args.protocol, "--participants", str(args.participants),
            "--days", str(args.days), "--seed", str(args.seed), "--out", str(out),
        ]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"eas simulate failed:\n{done.stderr}")
    texts = int(re.search(r"(\d+) texts from participants", done.stdout).group(1))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    participant_days = args.participants * args.days
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(" ".join(command[1:]))
    print(f"wall time            {wall:8.1f} s   (target: under 90 s; {cores} cores)")
    print(f"CPU time             {cpu:8.1f} s   (the command and the shard processes it ran)")
    print(f"participant-days/s   {participant_days / wall:8.1f}     ({participant_days} in all)")
    print(f"texts/s              {texts / wall:8.1f}     ({texts} texts from participants)")
    if args.keep:
        print(f"kept in {args.keep}")


if __name__ == "__main__":
    main()
