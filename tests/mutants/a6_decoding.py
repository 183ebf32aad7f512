"""Plausible wrong answers for Assignment 6 (beam search and BLEU); each must lose points on its item.
ALTERNATIVES are correct answers written differently: each must keep full marks.

``MUTANTS = {name: (grade_id, replacement_source)}``; most are the solution cell with one mistake
swapped in (see mutants.swapper), a few are written out in full.
"""
from __future__ import annotations

from mutants import solution_sources, swapper

_SOURCES = solution_sources("a6_decoding")
_swap = swapper("a6_decoding")

_BATCHED_LOOP = '''def batched_beam_search(step, state, sos, eos, beam_size, max_len, n_best=1, alpha=0.0):
    # One sentence at a time: the right hypotheses, but B times as many calls of step.
    first = state if isinstance(state, torch.Tensor) else state[0]
    results = []
    for b in range(first.shape[0]):
        rows = torch.tensor([b])
        one = state.index_select(0, rows) if isinstance(state, torch.Tensor) else tuple(p.index_select(0, rows) for p in state)
        results.append(beam_search(step, one, sos, eos, beam_size, max_len, n_best, alpha))
    return results
'''

_CORPUS_MEAN_OF_SENTENCES = _SOURCES["corpus_bleu"] + '''

def corpus_bleu(hypotheses, references, smooth_method="exp"):
    # The average of sentence scores instead of one score from the corpus's summed statistics.
    scores = []
    for i, hypothesis in enumerate(hypotheses):
        refs = [stream[i] for stream in references]
        counts = [modified_precision(hypothesis, refs, n) for n in range(1, 5)]
        c = len(hypothesis.split())
        r = min((len(x.split()) for x in refs), key=lambda length: (abs(length - c), length))
        scores.append(_bleu_from_counts([m for m, _ in counts], [t for _, t in counts], c, r, smooth_method, False))
    return sum(scores) / len(scores)
'''

_RANK = "for index in scores.reshape(-1).argsort(descending=True).tolist():"
_WALK = '''            if token == eos:
                finished.append((extended, score))
            else:'''
_REORDER = '''        if isinstance(state, torch.Tensor):
            state = state.index_select(0, index)
        else:
            state = tuple(part.index_select(0, index) for part in state)'''

MUTANTS: dict[str, tuple[str, str]] = {
    # ---- beam_search
    "beam_logprobs_multiplied": _swap("beam_search", ("scores = previous[:, None] + log_probs", "scores = previous[:, None] * log_probs")),
    "beam_probabilities_added": _swap("beam_search", ("scores = previous[:, None] + log_probs", "scores = previous[:, None] + log_probs.exp()")),
    "beam_finished_kept_in_beam": _swap("beam_search", (_WALK, _WALK.replace("            else:", "            if True:"))),
    "beam_only_top_k_candidates": _swap("beam_search", (_RANK, _RANK.replace(".tolist()", "[:beam_size].tolist()"))),
    "beam_stops_at_first_finished": _swap("beam_search", ("if len(finished) >= beam_size or not live:", "if finished or not live:")),
    "beam_ignores_finished_count": _swap("beam_search", ("if len(finished) >= beam_size or not live:", "if not live:")),
    "beam_state_not_reordered": _swap("beam_search", (_REORDER, "        pass")),
    "beam_best_by_raw_score": _swap("beam_search", ("return sorted(scored, key=lambda pair: pair[1], reverse=True)",
                                                    "return [(h, s / len(h) ** alpha) for h, s in sorted(hypotheses, key=lambda p: p[1], reverse=True)]")),
    "beam_length_times_alpha": _swap("beam_search", ("score / len(hyp) ** alpha", "score / max(len(hyp) * alpha, 1)")),
    "beam_length_without_eos": _swap("beam_search", ("score / len(hyp) ** alpha", "score / max(len(hyp) - (hyp[-1] == eos), 1) ** alpha")),
    "beam_no_fill_from_live": _swap("beam_search", ("return best + by_normalised_score(live)[:n_best - len(best)]", "return best")),
    # ---- batched_beam_search
    "batched_one_sentence_at_a_time": ("batched_beam_search", _BATCHED_LOOP),
    "batched_no_finished_count_rule": _swap("batched_beam_search", ("stop = (n_finished >= beam_size) | (kept_count == 0)", "stop = (kept_count == 0)")),
    "batched_too_few_candidates": _swap("batched_beam_search", ("k = min(width * vocab, beam_size + width)", "k = min(width * vocab, beam_size)")),
    "batched_eos_after_full_beam_finishes": _swap("batched_beam_search", ("in_walk = beam_before < beam_size", "in_walk = torch.ones_like(joins)")),
    # ---- precision_recall_f1
    "prf_unclipped_counts": _swap("precision_recall_f1", ("matched = sum(min(count, ref_counts[word]) for word, count in Counter(hyp).items())",
                                                          "matched = sum(count for word, count in Counter(hyp).items() if word in ref_counts)")),
    "prf_arithmetic_mean": _swap("precision_recall_f1", ("f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0",
                                                         "f1 = (precision + recall) / 2")),
    "prf_recall_over_hypothesis": _swap("precision_recall_f1", ("recall = matched / len(ref) if ref else 0.0", "recall = matched / len(hyp) if hyp else 0.0")),
    # ---- modified_precision
    "mp_unclipped_counts": _swap("modified_precision", ("clipped = sum(min(count, max_ref[gram]) for gram, count in hyp.items())",
                                                        "clipped = sum(count for gram, count in hyp.items() if max_ref[gram] > 0)")),
    "mp_clip_by_sum_over_references": _swap("modified_precision", ("max_ref[gram] = max(max_ref[gram], count)", "max_ref[gram] = max_ref[gram] + count")),
    "mp_total_distinct_ngrams": _swap("modified_precision", ("return clipped, sum(hyp.values())", "return clipped, len(hyp)")),
    # ---- brevity_penalty
    "bp_inverted_ratio": _swap("brevity_penalty", ("math.exp(1 - ref_len / hyp_len)", "math.exp(1 - hyp_len / ref_len)")),
    "bp_rewards_long_outputs": _swap("brevity_penalty", ("    if hyp_len >= ref_len:\n        return 1.0\n", "")),
    "bp_empty_not_penalised": _swap("brevity_penalty", ("if hyp_len == 0:\n        return 0.0", "if hyp_len == 0:\n        return 1.0")),
    # ---- corpus_bleu
    "bleu_longest_reference": _swap("corpus_bleu", ("ref_len += min((len(r.split()) for r in refs), key=lambda r: (abs(r - c), r))",
                                                    "ref_len += max(len(r.split()) for r in refs)")),
    "bleu_ties_to_longer_reference": _swap("corpus_bleu", ("key=lambda r: (abs(r - c), r))", "key=lambda r: (abs(r - c), -r))")),
    "bleu_first_reference_only": _swap("corpus_bleu", ("refs = [stream[i] for stream in references]", "refs = [references[0][i]]")),
    "bleu_arithmetic_mean": _swap("corpus_bleu", ("math.exp(sum(math.log(p) for p in precisions[:order]) / order)", "sum(precisions[:order]) / order")),
    "bleu_mean_of_sentence_scores": ("corpus_bleu", _CORPUS_MEAN_OF_SENTENCES),
    "bleu_exp_smoothing_no_doubling": _swap("corpus_bleu", ("halvings *= 2", "halvings = 2")),
    "bleu_add_k_on_unigrams": _swap("corpus_bleu", ('if smooth_method == "add-k" and n > 0:', 'if smooth_method == "add-k":')),
    "bleu_no_zero_without_matches": _swap("corpus_bleu", ("    if not any(correct):\n        return 0.0\n", "")),
    "bleu_floor_value_wrong": _swap("corpus_bleu", ("100 * 0.1 / total[n]", "100 * 0.01 / total[n]")),
    # ---- sentence_bleu
    "sentence_no_effective_order": _swap("sentence_bleu", ('"exp", effective_order=True', '"exp", effective_order=False')),
    "sentence_no_smoothing": _swap("sentence_bleu", ('"exp", effective_order=True', '"none", effective_order=True')),
    "sentence_longest_reference": _swap("sentence_bleu", ("r = min((len(ref.split()) for ref in references), key=lambda length: (abs(length - c), length))",
                                                          "r = max(len(ref.split()) for ref in references)")),
}

_BEAM_TOPK = '''def beam_search(step, state, sos, eos, beam_size, max_len, n_best=1, alpha=0.0):
    """Scores kept in a tensor; candidates from topk (at most one <eos> per row, so beam_size + N suffice)."""
    first = state if isinstance(state, torch.Tensor) else state[0]
    hyps, scores, finished = [[]], torch.zeros(1, dtype=torch.float64), []
    tokens = torch.full((1,), sos, dtype=torch.long, device=first.device)
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        total = (scores.to(log_probs.dtype)[:, None] + log_probs).reshape(-1)
        values, index = total.topk(min(total.numel(), beam_size + len(hyps)))
        keep, new_hyps, new_scores = [], [], []
        for value, flat in zip(values.tolist(), index.tolist()):
            row, token = divmod(flat, log_probs.shape[1])
            if token == eos:
                finished.append((hyps[row] + [eos], value))
                continue
            keep.append(row)
            new_hyps.append(hyps[row] + [token])
            new_scores.append(value)
            if len(new_hyps) == beam_size:
                break
        hyps, scores = new_hyps, torch.tensor(new_scores, dtype=log_probs.dtype)
        if len(finished) >= beam_size or not hyps:
            break
        rows = torch.tensor(keep, device=first.device)
        state = state[rows] if isinstance(state, torch.Tensor) else tuple(s[rows] for s in state)
        tokens = torch.tensor([h[-1] for h in hyps], device=first.device)
    norm = lambda h, s: s / (len(h) ** alpha)
    ranked = sorted(((h, norm(h, s)) for h, s in finished), key=lambda p: -p[1])[:n_best]
    ranked += sorted(((h, norm(h, s)) for h, s in zip(hyps, scores.tolist())), key=lambda p: -p[1])[:n_best - len(ranked)]
    return ranked
'''

_PRF_SETS = '''def precision_recall_f1(hypothesis, reference):
    hyp, ref = Counter(hypothesis.split()), Counter(reference.split())
    overlap = sum((hyp & ref).values())
    n_hyp, n_ref = sum(hyp.values()), sum(ref.values())
    precision = overlap / n_hyp if n_hyp else 0.0
    recall = overlap / n_ref if n_ref else 0.0
    f1 = 2 * overlap / (n_hyp + n_ref) if overlap else 0.0
    return precision, recall, f1
'''

_MP_COUNTER_OPS = '''def modified_precision(hypothesis, references, n):
    def grams(sentence):
        words = sentence.split()
        return Counter(zip(*(words[i:] for i in range(n))))
    most = Counter()
    for reference in references:
        most |= grams(reference)
    hyp = grams(hypothesis)
    return sum((hyp & most).values()), sum(hyp.values())
'''

_BP_ONE_LINE = '''def brevity_penalty(hyp_len, ref_len):
    return min(1.0, math.exp(1 - ref_len / hyp_len)) if hyp_len else float(ref_len == 0)
'''

_CORPUS_FRACTIONS = '''def corpus_bleu(hypotheses, references, smooth_method="exp"):
    stats = [0] * 10          # hyp_len, ref_len, matches n=1..4, totals n=1..4
    for i, hyp in enumerate(hypotheses):
        refs = [stream[i] for stream in references]
        c = len(hyp.split())
        lengths = sorted(len(r.split()) for r in refs)
        stats[0] += c
        stats[1] += min(lengths, key=lambda r: abs(r - c))      # sorted: ties go to the shorter
        for n in range(1, 5):
            m, t = modified_precision(hyp, refs, n)
            stats[1 + n] += m
            stats[5 + n] += t
    return _score(stats[2:6], stats[6:10], stats[0], stats[1], smooth_method, effective=False)


def _score(matches, totals, c, r, method, effective):
    if sum(matches) == 0:
        return 0.0
    logs, k = [], 1.0
    for n, (m, t) in enumerate(zip(matches, totals)):
        if method == "add-k" and n:
            m, t = m + 1, t + 1
        if t == 0:
            if not effective:
                return 0.0
            break
        if m:
            logs.append(math.log(m / t))
        elif method == "exp":
            k *= 2
            logs.append(math.log(1 / (k * t)))
        elif method == "floor":
            logs.append(math.log(0.1 / t))
        else:
            return 0.0
    return 100 * brevity_penalty(c, r) * math.exp(sum(logs) / (len(logs) if effective else 4))


def _bleu_from_counts(correct, total, hyp_len, ref_len, smooth_method, effective_order):  # what sentence_bleu calls
    return _score(correct, total, hyp_len, ref_len, smooth_method, effective_order)
'''

_SENTENCE_VIA_SCORE = _CORPUS_FRACTIONS + '''

def sentence_bleu(hypothesis, references):
    c = len(hypothesis.split())
    r = min(sorted(len(x.split()) for x in references), key=lambda length: abs(length - c))
    pairs = [modified_precision(hypothesis, references, n) for n in range(1, 5)]
    return _score([m for m, _ in pairs], [t for _, t in pairs], c, r, "exp", effective=True)
'''

ALTERNATIVES: dict[str, tuple[str, str]] = {
    "beam_topk_tensor_scores": ("beam_search", _BEAM_TOPK),
    "prf_counter_intersection": ("precision_recall_f1", _PRF_SETS),
    "mp_counter_operators": ("modified_precision", _MP_COUNTER_OPS),
    "bp_one_line": ("brevity_penalty", _BP_ONE_LINE),
    "corpus_log_fractions": ("corpus_bleu", _CORPUS_FRACTIONS),
    "sentence_own_helper": ("sentence_bleu", _SENTENCE_VIA_SCORE),
}
