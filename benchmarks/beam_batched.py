"""Batched beam search against a per-sentence loop on the book's translation model (CPU, one thread).

    python benchmarks/beam_batched.py [--config attention] [--beam 5] [--batch 64] [--repeats 3]

Loads (or trains once and caches) `BOOK_CONFIGS[config]` (default: "attention", Chapter 5's model, else
Chapter 4's "seq2seq"), decodes `batch` test sentences batched and in two per-sentence loops (search
only, and encoder + search), checks that the outputs agree and prints the times and the speed ratios
(goal: >= 5x for beam 5, batch 64).
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
    runs = {  # name -> beam_translate options
        "batched (one search for all sentences)": dict(batched=True, batch_size=args.batch),
        "loop: one search a sentence, encoder batched": dict(batched=False, batch_size=args.batch),
        "loop: one sentence at a time (encoder too)": dict(batched=False, batch_size=1),
    }
    times = {}
    for label, options in runs.items():
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            outputs = translation.beam_translate(model, data, sources, beam_size=args.beam, **options)
            best = min(best, time.perf_counter() - start)
        times[label] = (best, outputs)
    print(f"model {name!r}, beam {args.beam}, {len(sources)} sentences, CPU 1 thread (best of {args.repeats})")
    batched, reference = times[next(iter(runs))]
    for label, (seconds, outputs) in times.items():
        same = sum(a == b for a, b in zip(outputs, reference))
        print(f"{label:46s} {seconds:6.2f} s ({seconds / len(sources) * 1000:5.1f} ms/sentence)  "
              f"{seconds / batched:4.1f}x the batched time; outputs equal to batched: {same}/{len(sources)}")

if __name__ == "__main__":
    main()
