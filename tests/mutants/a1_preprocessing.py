"""Plausible wrong answers for Assignment 1; each must lose points on its item.

One-line mistakes are the solution cell with the mistake swapped in (they follow edits to the
solution); structural ones are written out.
"""
from mutants import swapper

_swap = swapper("a1_preprocessing")
_TOKENIZE_HEAD = "import re\n\ndef tokenize(text: str, level: str = 'word') -> list[str]:\n"
_BUCKET_HEAD = "def bucket_batches(lengths, batch_size: int, generator=None) -> list[list[int]]:\n"
_VOCAB_HEAD = "from collections import Counter\n\ndef build_vocab(token_lists, min_freq: int = 1):\n"

MUTANTS = {
    # tokenize
    "tokenize_no_lowercase": _swap("tokenize", ("text.lower())", "text)")),
    "tokenize_whitespace_only": _swap("tokenize", ('re.findall(r"\\w+|[^\\w\\s]", text.lower())', "text.lower().split()")),
    "tokenize_punctuation_runs": _swap("tokenize", ('[^\\w\\s]"', '[^\\w\\s]+"')),
    "tokenize_drops_punctuation": _swap("tokenize", ('r"\\w+|[^\\w\\s]"', 'r"\\w+"')),
    "tokenize_delegates_to_package": ("tokenize", _TOKENIZE_HEAD + """
    from rnnbook.data import vocab as t
    if level == "word":
        return t.tokenize_words(text)
    if level == "char":
        return t.tokenize_chars(text)
    raise ValueError(level)
"""),
    # build_vocab
    "vocab_strict_cutoff": _swap("build_vocab", ("c >= min_freq", "c > min_freq")),
    "vocab_most_common_ties": ("build_vocab", _VOCAB_HEAD + """
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]
    itos = SPECIALS + kept
    return itos, {t: i for i, t in enumerate(itos)}
"""),
    "vocab_specials_duplicated": _swap("build_vocab", (" and t not in SPECIALS", "")),
    "vocab_no_unk": _swap("build_vocab", ("itos = SPECIALS + kept", "itos = [PAD, SOS, EOS] + kept")),
    # numericalize / denumericalize
    "numericalize_keyerror_on_unknown": _swap("numericalize", ("stoi.get(token, unk)", "stoi[token]")),
    "numericalize_ignores_flag": _swap("numericalize", ("if add_sos_eos else ids", "if True else ids")),
    "denumericalize_does_not_stop_at_eos": _swap("numericalize", ("            break\n", "            continue\n")),
    "denumericalize_keeps_padding": _swap("numericalize", ("if token not in (SOS, PAD):", "if token != SOS:")),
    # pad_batch
    "pad_with_zero": _swap("pad_batch", ("int(lengths.max())), pad_index,", "int(lengths.max())), 0,")),
    "pad_time_major": ("pad_batch", """
def pad_batch(sequences, pad_index: int):
    lengths = torch.tensor([len(s) for s in sequences])
    padded = torch.full((int(lengths.max()), len(sequences)), pad_index, dtype=torch.long)
    for r, s in enumerate(sequences):
        padded[:len(s), r] = torch.tensor(s)
    return padded, lengths
"""),
    "pad_lengths_as_list": ("pad_batch", """
def pad_batch(sequences, pad_index: int):
    lengths = [len(s) for s in sequences]
    padded = torch.full((len(sequences), max(lengths)), pad_index, dtype=torch.long)
    for r, s in enumerate(sequences):
        padded[r, :len(s)] = torch.tensor(s)
    return padded, lengths
"""),
    "pad_sorted_by_length": ("pad_batch", """
def pad_batch(sequences, pad_index: int):
    sequences = sorted(sequences, key=len, reverse=True)
    lengths = torch.tensor([len(s) for s in sequences])
    padded = torch.full((len(sequences), int(lengths.max())), pad_index, dtype=torch.long)
    for r, s in enumerate(sequences):
        padded[r, :len(s)] = torch.tensor(s)
    return padded, lengths
"""),
    # run_packed
    "packed_enforce_sorted": _swap("run_packed", (", enforce_sorted=False", "")),
    "packed_not_packing": ("run_packed", """
def run_packed(rnn, inputs, lengths):
    out, h = rnn(inputs)
    mask = (torch.arange(inputs.size(1))[None, :] < lengths[:, None]).unsqueeze(-1)
    return out * mask, h
"""),
    "packed_no_total_length": _swap("run_packed", (", total_length=inputs.size(1)", "")),
    "packed_hidden_from_last_column": _swap("run_packed", ("return outputs, h_n", "return outputs, outputs[:, -1].unsqueeze(0)")),
    # batchify / get_chunk
    "batchify_strided_rows": _swap("lm_batches", (".reshape(batch_size, length)", ".reshape(length, batch_size).t()")),
    "get_chunk_unshifted_targets": _swap("lm_batches", ("data[:, start + 1:start + 1 + n]", "data[:, start:start + n]")),
    "get_chunk_last_chunk_too_long": _swap("lm_batches", ("n = min(bptt, data.size(1) - 1 - start)", "n = bptt")),
    "batchify_keeps_remainder_rows": ("lm_batches", """
def batchify(stream, batch_size: int):
    n = -(-stream.numel() // batch_size)
    padded = torch.cat([stream, stream.new_zeros(n * batch_size - stream.numel())])
    return padded.reshape(batch_size, n)

def get_chunk(data, start: int, bptt: int):
    n = min(bptt, data.size(1) - 1 - start)
    return data[:, start:start + n], data[:, start + 1:start + 1 + n]
"""),
    # bucket_batches (the challenge)
    "bucket_no_shuffle": _swap("bucket_batches", ("    order = torch.randperm(len(batches), generator=generator).tolist()\n"
                                                  "    return [batches[k] for k in order]\n", "    return batches\n")),
    "bucket_global_rng": _swap("bucket_batches", ("torch.randperm(len(batches), generator=generator)",
                                                  "torch.randperm(len(batches))")),
    "bucket_python_shuffle": _swap("bucket_batches", (
        "    order = torch.randperm(len(batches), generator=generator).tolist()\n    return [batches[k] for k in order]\n",
        "    import random\n    random.shuffle(batches)\n    return batches\n")),
    "bucket_shortest_first_inside": _swap("bucket_batches", ("key=lambda i: -lengths[i]", "key=lambda i: lengths[i]")),
    "bucket_drops_remainder": _swap("bucket_batches", ("range(0, len(by_length), batch_size)",
                                                      "range(0, len(by_length) - batch_size + 1, batch_size)")),
    "bucket_not_sorted": _swap("bucket_batches", ("sorted(range(len(lengths)), key=lambda i: -lengths[i])",
                                                  "list(range(len(lengths)))")),
    "bucket_shuffles_sequences_not_batches": ("bucket_batches", _BUCKET_HEAD + """
    if batch_size < 1:
        raise ValueError(batch_size)
    lengths = [int(n) for n in lengths]
    order = torch.randperm(len(lengths), generator=generator).tolist()
    return [sorted(order[k:k + batch_size], key=lambda i: -lengths[i]) for k in range(0, len(order), batch_size)]
"""),
    "bucket_no_size_check": _swap("bucket_batches", ("    if batch_size < 1:\n        raise ValueError(f\"batch_size must be at least 1, not {batch_size}\")\n", "")),
}

# Correct answers written differently: each must keep full marks.
ALTERNATIVES = {
    "pad_with_pad_sequence": _swap("pad_batch", (
        """    padded = torch.full((len(sequences), int(lengths.max())), pad_index, dtype=torch.long)
    for row, seq in enumerate(sequences):
        padded[row, :len(seq)] = torch.as_tensor(list(seq), dtype=torch.long)
""", """    padded = nn.utils.rnn.pad_sequence([torch.as_tensor(list(s), dtype=torch.long) for s in sequences],
                                       batch_first=True, padding_value=pad_index)
""")),
    "bucket_ascending_groups": ("bucket_batches", _BUCKET_HEAD + """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    lengths = torch.as_tensor(lengths, dtype=torch.long).reshape(-1)
    order = torch.argsort(lengths, stable=True).tolist()          # shortest first: the remainder is the longest
    groups = [order[k:k + batch_size] for k in range(0, len(order), batch_size)]
    groups = [sorted(g, key=lambda i: int(lengths[i]), reverse=True) for g in groups]
    perm = torch.randperm(len(groups), generator=generator)
    return [groups[int(k)] for k in perm]
"""),
    "bucket_python_rng_seeded_from_generator": ("bucket_batches", _BUCKET_HEAD + """
    import random
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    lengths = list(map(int, lengths))
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches = [order[k:k + batch_size] for k in range(0, len(order), batch_size)]
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    random.Random(seed).shuffle(batches)
    return batches
"""),
    "vocab_most_common_then_sorted": ("build_vocab", _VOCAB_HEAD + """
    counts = Counter()
    for tokens in token_lists:
        counts.update(tokens)
    pairs = sorted(counts.items(), key=lambda kv: kv[0])
    pairs = sorted(pairs, key=lambda kv: kv[1], reverse=True)      # stable: ties stay alphabetical
    itos = list(SPECIALS) + [t for t, c in pairs if c >= min_freq and t not in SPECIALS]
    return itos, {t: i for i, t in enumerate(itos)}
"""),
}
