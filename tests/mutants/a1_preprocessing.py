"""Plausible wrong answers for Assignment 1; each must lose points on its item."""

_TOKENIZE_HEAD = "import re\n\ndef tokenize(text: str, level: str = 'word') -> list[str]:\n"
_VOCAB_HEAD = "from collections import Counter\n\ndef build_vocab(token_lists, min_freq: int = 1):\n"

MUTANTS = {
    # tokenize
    "tokenize_no_lowercase": ("tokenize", _TOKENIZE_HEAD + """
    if level == "word":
        return re.findall(r"\\w+|[^\\w\\s]", text)
    if level == "char":
        return list(text)
    raise ValueError(level)
"""),
    "tokenize_whitespace_only": ("tokenize", _TOKENIZE_HEAD + """
    if level == "word":
        return text.lower().split()
    if level == "char":
        return list(text)
    raise ValueError(level)
"""),
    "tokenize_punctuation_runs": ("tokenize", _TOKENIZE_HEAD + """
    if level == "word":
        return re.findall(r"\\w+|[^\\w\\s]+", text.lower())
    if level == "char":
        return list(text)
    raise ValueError(level)
"""),
    "tokenize_drops_punctuation": ("tokenize", _TOKENIZE_HEAD + """
    if level == "word":
        return re.findall(r"\\w+", text.lower())
    if level == "char":
        return list(text)
    raise ValueError(level)
"""),
    "tokenize_delegates_to_package": ("tokenize", _TOKENIZE_HEAD + """
    from rnnbook import text as t
    if level == "word":
        return t.tokenize_words(text)
    if level == "char":
        return t.tokenize_chars(text)
    raise ValueError(level)
"""),
    # build_vocab
    "vocab_strict_cutoff": ("build_vocab", _VOCAB_HEAD + """
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = sorted((t for t, c in counts.items() if c > min_freq and t not in SPECIALS), key=lambda t: (-counts[t], t))
    itos = SPECIALS + kept
    return itos, {t: i for i, t in enumerate(itos)}
"""),
    "vocab_most_common_ties": ("build_vocab", _VOCAB_HEAD + """
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]
    itos = SPECIALS + kept
    return itos, {t: i for i, t in enumerate(itos)}
"""),
    "vocab_specials_duplicated": ("build_vocab", _VOCAB_HEAD + """
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    itos = SPECIALS + kept
    return itos, {t: i for i, t in enumerate(itos)}
"""),
    "vocab_no_unk": ("build_vocab", _VOCAB_HEAD + """
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in SPECIALS), key=lambda t: (-counts[t], t))
    itos = ["<pad>", "<sos>", "<eos>"] + kept
    return itos, {t: i for i, t in enumerate(itos)}
"""),
    # numericalize / denumericalize
    "numericalize_keyerror_on_unknown": ("numericalize", """
def numericalize(tokens, stoi, add_sos_eos: bool = True) -> list[int]:
    ids = [stoi[t] for t in tokens]
    return [stoi[SOS], *ids, stoi[EOS]] if add_sos_eos else ids

def denumericalize(ids, itos) -> list[str]:
    out = []
    for i in ids:
        t = itos[int(i)]
        if t == EOS:
            break
        if t not in (SOS, PAD):
            out.append(t)
    return out
"""),
    "numericalize_ignores_flag": ("numericalize", """
def numericalize(tokens, stoi, add_sos_eos: bool = True) -> list[int]:
    return [stoi[SOS], *[stoi.get(t, stoi[UNK]) for t in tokens], stoi[EOS]]

def denumericalize(ids, itos) -> list[str]:
    out = []
    for i in ids:
        t = itos[int(i)]
        if t == EOS:
            break
        if t not in (SOS, PAD):
            out.append(t)
    return out
"""),
    "denumericalize_does_not_stop_at_eos": ("numericalize", """
def numericalize(tokens, stoi, add_sos_eos: bool = True) -> list[int]:
    ids = [stoi.get(t, stoi[UNK]) for t in tokens]
    return [stoi[SOS], *ids, stoi[EOS]] if add_sos_eos else ids

def denumericalize(ids, itos) -> list[str]:
    return [itos[int(i)] for i in ids if itos[int(i)] not in (SOS, PAD, EOS)]
"""),
    "denumericalize_keeps_padding": ("numericalize", """
def numericalize(tokens, stoi, add_sos_eos: bool = True) -> list[int]:
    ids = [stoi.get(t, stoi[UNK]) for t in tokens]
    return [stoi[SOS], *ids, stoi[EOS]] if add_sos_eos else ids

def denumericalize(ids, itos) -> list[str]:
    out = []
    for i in ids:
        t = itos[int(i)]
        if t == EOS:
            break
        if t != SOS:
            out.append(t)
    return out
"""),
    # pad_batch
    "pad_with_zero": ("pad_batch", """
def pad_batch(sequences, pad_index: int):
    lengths = torch.tensor([len(s) for s in sequences])
    padded = torch.zeros(len(sequences), int(lengths.max()), dtype=torch.long)
    for r, s in enumerate(sequences):
        padded[r, :len(s)] = torch.tensor(s)
    return padded, lengths
"""),
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
    "packed_enforce_sorted": ("run_packed", """
def run_packed(rnn, inputs, lengths):
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True)
    out, h = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=inputs.size(1))
    return out, h
"""),
    "packed_not_packing": ("run_packed", """
def run_packed(rnn, inputs, lengths):
    out, h = rnn(inputs)
    mask = (torch.arange(inputs.size(1))[None, :] < lengths[:, None]).unsqueeze(-1)
    return out * mask, h
"""),
    "packed_no_total_length": ("run_packed", """
def run_packed(rnn, inputs, lengths):
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, h = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True)
    return out, h
"""),
    "packed_hidden_from_last_column": ("run_packed", """
def run_packed(rnn, inputs, lengths):
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, h = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=inputs.size(1))
    return out, out[:, -1].unsqueeze(0)
"""),
    # batchify / get_chunk
    "batchify_strided_rows": ("lm_batches", """
def batchify(stream, batch_size: int):
    n = stream.numel() // batch_size
    return stream[: n * batch_size].reshape(n, batch_size).t()

def get_chunk(data, start: int, bptt: int):
    n = min(bptt, data.size(1) - 1 - start)
    return data[:, start:start + n], data[:, start + 1:start + 1 + n]
"""),
    "get_chunk_unshifted_targets": ("lm_batches", """
def batchify(stream, batch_size: int):
    n = stream.numel() // batch_size
    return stream[: n * batch_size].reshape(batch_size, n)

def get_chunk(data, start: int, bptt: int):
    n = min(bptt, data.size(1) - 1 - start)
    return data[:, start:start + n], data[:, start:start + n]
"""),
    "get_chunk_last_chunk_too_long": ("lm_batches", """
def batchify(stream, batch_size: int):
    n = stream.numel() // batch_size
    return stream[: n * batch_size].reshape(batch_size, n)

def get_chunk(data, start: int, bptt: int):
    x = data[:, start:start + bptt]
    y = data[:, start + 1:start + 1 + bptt]
    return x, y
"""),
    "batchify_keeps_remainder_rows": ("lm_batches", """
def batchify(stream, batch_size: int):
    n = -(-stream.numel() // batch_size)
    padded = torch.cat([stream, stream.new_zeros(n * batch_size - stream.numel())])
    return padded.reshape(batch_size, n)

def get_chunk(data, start: int, bptt: int):
    n = min(bptt, data.size(1) - 1 - start)
    return data[:, start:start + n], data[:, start + 1:start + 1 + n]
"""),
}
