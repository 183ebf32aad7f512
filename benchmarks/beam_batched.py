"""Batched beam search against a per-sentence loop on the book's translation model (CPU, one thread).

    python benchmarks/beam_batched.py [--config attention] [--beam 5] [--batch 64] [--repeats 3]

Loads (or trains once and caches) `BOOK_CONFIGS[config]` (default: "attention", Chapter 5's model, else
Chapter 4's "seq2seq"), decodes `batch` test sentences both ways, checks that the outputs agree and
prints the time of each and the speed ratio (goal: >= 5x for beam 5, batch 64).
"""
from __future__ import annotations

import argparse
import time

import torch

from rnnbook.train import translation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    name = args.config or ("attention" if "attention" in translation.BOOK_CONFIGS else "seq2seq")
    model, data, _ = translation.cached_model(translation.BOOK_CONFIGS[name])
    sources = [s for s, _ in data.test[:args.batch]]
    kw = dict(beam_size=args.beam, batch_size=args.batch)
    times = {}
    for batched in (True, False):
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            outputs = translation.beam_translate(model, data, sources, batched=batched, **kw)
            best = min(best, time.perf_counter() - start)
        times[batched] = (best, outputs)
    same = sum(a == b for a, b in zip(times[True][1], times[False][1]))
    loop, batched = times[False][0], times[True][0]
    print(f"model {name!r}, beam {args.beam}, {len(sources)} sentences, CPU 1 thread (best of {args.repeats})")
    print(f"per-sentence loop: {loop:.2f} s ({loop / len(sources) * 1000:.1f} ms/sentence)")
    print(f"batched:           {batched:.2f} s ({batched / len(sources) * 1000:.1f} ms/sentence)")
    print(f"speed ratio: {loop / batched:.1f}x; identical outputs: {same}/{len(sources)}")


if __name__ == "__main__":
    main()
