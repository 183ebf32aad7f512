"""Time the course's step-by-step BLEU (rnnbook.metrics.corpus_bleu) against sacrebleu on the same
whitespace-tokenized corpus, and check they agree.

    python benchmarks/bleu_speed.py [--sentences 4000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import random
import time

import sacrebleu

from rnnbook import metrics
from rnnbook.data import parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    refs = [" ".join(parallel.tokenize(t)) for _, t in parallel.read_pairs("eng-fra", "test")[:args.sentences]]
    rng = random.Random(0)

    def perturb(sentence: str) -> str:     # a stand-in system output: drop and swap a few words
        words = [w for w in sentence.split() if rng.random() > 0.15]
        if len(words) > 2 and rng.random() < 0.5:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)

    hyps = [perturb(r) for r in refs]
    timings = {}
    for name, fn in [("rnnbook.metrics.corpus_bleu", lambda: metrics.corpus_bleu(hyps, [refs]).score),
                     ("sacrebleu (tokenize='none')", lambda: sacrebleu.corpus_bleu(hyps, [refs], tokenize="none", force=True).score),
                     ("sacrebleu (tokenize='13a')", lambda: sacrebleu.corpus_bleu(hyps, [refs], force=True).score)]:
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            score = fn()
            best = min(best, time.perf_counter() - start)
        timings[name] = (best, score)
        print(f"{name:30s} {best * 1000:8.1f} ms for {len(hyps)} sentences   BLEU {score:.6f}")
    ours, theirs = timings["rnnbook.metrics.corpus_bleu"], timings["sacrebleu (tokenize='none')"]
    print(f"ours / sacrebleu time: {ours[0] / theirs[0]:.2f}; |difference| {abs(ours[1] - theirs[1]):.2e}")


if __name__ == "__main__":
    main()
