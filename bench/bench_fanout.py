"""Fan-out speed-up (``make bench``): a 60-minute recording analysed as one pass,
and as segments (the default plan: about 10 minutes each, 10 s context) run by
1 and by 4 parallel worker processes, then merged. Wall-clock seconds; on a
machine with fewer cores than workers the speed-up is bounded by the cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench_long import synthesise

from audioscore.analysis.features import extract_file
from audioscore.analysis.segments import SegmentPlan, analyse_segment, merge_segments, plan_segments
from audioscore.infra.config import Settings


def run_segment(path: Path, plan: SegmentPlan, index: int, out: Path) -> Path:
    target = out / f"{index:04d}.npz"
    target.write_bytes(analyse_segment(path, plan, index).to_bytes())
    return target


def fanned_out(path: Path, plan: SegmentPlan, workers: int, source) -> float:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out, ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(run_segment, path, plan, i, Path(out)) for i in range(plan.count)]
        paths = [f.result() for f in futures]
        merge_segments(paths, plan, source)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path("build/bench"))
    parser.add_argument("--minutes", type=int, default=60)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    path = synthesise(args.cache / f"long_{args.minutes}min.flac", args.minutes)
    settings = Settings()
    start = time.perf_counter()
    single = extract_file(path)
    single_s = time.perf_counter() - start
    plan = plan_segments(single.audio.duration_s, segment_s=settings.segment_s, context_s=settings.segment_context_s)
    print(f"{args.minutes} min, {plan.count} segments of {plan.segment_samples / plan.sample_rate:.0f} s, "
          f"{os.cpu_count()} cores")
    print(f"single pass:        {single_s:7.1f} s")
    one = fanned_out(path, plan, 1, single.audio.source)
    print(f"segments, 1 worker: {one:7.1f} s")
    four = fanned_out(path, plan, 4, single.audio.source)
    print(f"segments, 4 workers:{four:7.1f} s  (speed-up {one / four:.2f}x over 1 worker, "
          f"{single_s / four:.2f}x over the single pass)")


if __name__ == "__main__":
    main()
