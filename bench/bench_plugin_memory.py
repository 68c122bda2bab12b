"""Peak memory and speed of the pYIN plugin on long recordings.

Runs the plugin through vampyhost on a synthesised melody (harmonic tones of random
pitch and length, with rests) of 10, 60 and 180 minutes, each length in a fresh
process. The audio is made chunk by chunk and features are counted, then dropped, so
the process holds neither the signal nor the results: what grows with length is the
plugin's own state.

    .venv/bin/python bench/bench_plugin_memory.py                    # the plugin's defaults
    .venv/bin/python bench/bench_plugin_memory.py --param decodewindow=0  # whole-file decoding

Prints per length: peak RSS (``ru_maxrss``), RSS once the plugin is loaded (the
interpreter, numpy and vampyhost), CPU seconds inside the plugin per audio minute, and
the number of pitch frames and notes returned.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

MINUTES = (10, 60, 180)


def child(minutes: float, rate: int, parameters: dict[str, float]) -> dict[str, float]:
    # Imported here: the parent stays small, and ru_maxrss survives exec into the child.
    import resource
    import time

    import numpy as np
    import vampyhost

    from audioscore.analysis.pitch import CHUNK_SAMPLES, PLUGIN_KEY

    def melody(total: int, seed: int = 0):
        """Yields float32 pieces (one note or rest each) adding up to ``total`` samples."""
        rng = np.random.default_rng(seed)
        made = 0
        while made < total:
            if rng.random() < 0.1:
                piece = np.zeros(int(rng.uniform(0.5, 3.0) * rate), np.float32)
            else:
                f0 = 440.0 * 2.0 ** ((rng.integers(48, 85) - 69) / 12.0)
                t = np.arange(int(rng.uniform(0.15, 1.2) * rate)) / rate
                envelope = np.minimum(t / 0.005, 1.0) * np.exp(-t * rng.uniform(0.5, 3.0))
                tone = sum(
                    np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5) if k * f0 < rate / 2
                )
                gap = np.zeros(int(rng.uniform(0.0, 0.08) * rate))
                piece = np.concatenate([0.3 * envelope * tone, gap]).astype(np.float32)
            piece = piece[: total - made]
            made += len(piece)
            yield piece

    def rss_mb(field: str) -> float:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith(field))

    plugin = vampyhost.load_plugin(PLUGIN_KEY, rate, vampyhost.ADAPT_ALL)
    plugin.set_parameter_values(parameters)
    if not plugin.initialise(1, CHUNK_SAMPLES, CHUNK_SAMPLES):
        raise SystemExit("plugin refused to initialise")
    outputs = {
        plugin.get_output(name)["output_index"]: name for name in ("smoothedpitchtrack", "notes")
    }
    counts = dict.fromkeys(outputs.values(), 0)

    def count(features: dict) -> None:
        for index, name in outputs.items():
            counts[name] += len(features.get(index, ()))

    loaded_mb = rss_mb("VmRSS:")
    total = int(minutes * 60 * rate)
    chunk = np.zeros((1, CHUNK_SAMPLES), np.float32)
    filled, position, cpu = 0, 0, 0.0
    wall = time.perf_counter()

    def feed() -> None:
        nonlocal cpu, position
        start = time.process_time()
        count(plugin.process_block(chunk, vampyhost.frame_to_realtime(position, rate)))
        cpu += time.process_time() - start
        position += CHUNK_SAMPLES

    for piece in melody(total):
        while len(piece):
            take = min(len(piece), CHUNK_SAMPLES - filled)
            chunk[0, filled : filled + take] = piece[:take]
            piece, filled = piece[take:], filled + take
            if filled == CHUNK_SAMPLES:
                feed()
                filled = 0
    if filled:
        chunk[0, filled:] = 0.0
        feed()
    start = time.process_time()
    count(plugin.get_remaining_features())
    cpu += time.process_time() - start
    plugin.unload()
    return {
        "minutes": minutes,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loaded_rss_mb": loaded_mb,
        "plugin_cpu_s": cpu,
        "wall_s": time.perf_counter() - wall,
        **counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, nargs="+", default=MINUTES)
    parser.add_argument("--rate", type=int, default=44100)
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="plugin parameter"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    parameters = {name: float(value) for name, value in (p.split("=", 1) for p in args.param)}
    if args.child:
        print(json.dumps(child(args.minutes[0], args.rate, parameters)))
        return

    print(f"plugin at {args.rate} Hz, parameters {parameters or 'defaults'}")
    print(
        f"{'minutes':>8} {'peak RSS MB':>12} {'loaded MB':>10} {'plugin CPU s':>13} {'s/min':>6} "
        f"{'wall s':>7} {'frames':>9} {'notes':>7}"
    )
    for minutes in args.minutes:
        command = [
            sys.executable,
            __file__,
            "--child",
            "--minutes",
            str(minutes),
            "--rate",
            str(args.rate),
        ]
        command += [f"--param={p}" for p in args.param]
        stats = json.loads(
            subprocess.run(command, capture_output=True, text=True, check=True).stdout
        )
        print(
            f"{minutes:>8g} {stats['peak_rss_mb']:>12.0f} {stats['loaded_rss_mb']:>10.0f} "
            f"{stats['plugin_cpu_s']:>13.1f} {stats['plugin_cpu_s'] / minutes:>6.2f} {stats['wall_s']:>7.0f} "
            f"{stats['smoothedpitchtrack']:>9} {stats['notes']:>7}",
            flush=True,
        )


if __name__ == "__main__":
    main()
