"""Plausible wrong answers for Assignment 3 (LSTM and GRU); each must lose points on its item.

``MUTANTS = {name: (grade_id, replacement_source)}``. Most mutants are the solution cell with one
mistake swapped in (read from the source notebook at import time, so they follow edits to the
solution; a swap that no longer matches raises here, loudly). A few are written out in full.
"""
from __future__ import annotations

from mutants import solution_sources, swapper

_SOURCES = solution_sources("a3_lstm_gru")
_swap = swapper("a3_lstm_gru")


_GRU_PAPER_FORM = '''def gru_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    # The original paper's candidate: the reset gate multiplies h *before* the matrix product.
    gi = x @ W_ih.T
    if b_ih is not None:
        gi = gi + b_ih
    W_hr, W_hz, W_hn = W_hh.chunk(3, dim=0)
    b_hr, b_hz, b_hn = (b_hh.chunk(3) if b_hh is not None else (0.0, 0.0, 0.0))
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h @ W_hr.T + b_hr)
    z = torch.sigmoid(i_z + h @ W_hz.T + b_hz)
    n = torch.tanh(i_n + (r * h) @ W_hn.T + b_hn)
    return (1 - z) * n + z * h
'''

MUTANTS: dict[str, tuple[str, str]] = {
    # ---- lstm_cell
    "lstm_gate_order_ifog": _swap("lstm_cell", ("i, f, g, o = gates.chunk(4, dim=-1)", "i, f, o, g = gates.chunk(4, dim=-1)")),
    "lstm_gate_order_fiog": _swap("lstm_cell", ("i, f, g, o = gates.chunk(4, dim=-1)", "f, i, g, o = gates.chunk(4, dim=-1)")),
    "lstm_candidate_sigmoid": _swap("lstm_cell", ("g = torch.tanh(g)", "g = torch.sigmoid(g)")),
    "lstm_candidate_sigmoid_output_tanh": _swap(
        "lstm_cell",
        ("i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)", "i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(o)"),
        ("g = torch.tanh(g)", "g = torch.sigmoid(g)"),
    ),
    "lstm_no_forget_gate": _swap("lstm_cell", ("c_new = f * c + i * g", "c_new = c + i * g")),
    "lstm_h_without_tanh": _swap("lstm_cell", ("h_new = o * torch.tanh(c_new)", "h_new = o * c_new")),
    "lstm_h_from_old_cell": _swap("lstm_cell", ("h_new = o * torch.tanh(c_new)", "h_new = o * torch.tanh(c)")),
    "lstm_ignores_b_hh": _swap("lstm_cell", ("gates = gates + b_hh", "gates = gates")),
    # ---- gru_cell
    "gru_reset_before_matmul": ("gru_cell", _GRU_PAPER_FORM),
    "gru_update_wrong_way": _swap("gru_cell", ("return (1 - z) * n + z * h", "return z * n + (1 - z) * h")),
    "gru_gate_order_zrn": _swap("gru_cell", ("i_r, i_z, i_n = gi.chunk", "i_z, i_r, i_n = gi.chunk"),
                                ("h_r, h_z, h_n = gh.chunk", "h_z, h_r, h_n = gh.chunk")),
    "gru_candidate_sigmoid": _swap("gru_cell", ("n = torch.tanh(i_n + r * h_n)", "n = torch.sigmoid(i_n + r * h_n)")),
    "gru_reset_skips_hidden_bias": _swap(
        "gru_cell",
        ("n = torch.tanh(i_n + r * h_n)",
         "b_hn = b_hh.chunk(3)[2] if b_hh is not None else 0.0\n    n = torch.tanh(i_n + r * (h_n - b_hn) + b_hn)"),
    ),
    # ---- lstm_forward
    "forward_dropout_after_last_layer": _swap("lstm_forward", ("        if layer < L - 1:\n            layer_output = F.dropout",
                                                               "        if True:\n            layer_output = F.dropout")),
    "forward_dropout_on_inputs": _swap(
        "lstm_forward",
        ("        h, c = h0[layer], c0[layer]\n",
         "        h, c = h0[layer], c0[layer]\n        layer_input = F.dropout(layer_input, dropout, training=training)\n"),
        ("        if layer < L - 1:\n            layer_output = F.dropout(layer_output, dropout, training=training)\n", ""),
    ),
    "forward_dropout_ignores_training": _swap("lstm_forward", ("F.dropout(layer_output, dropout, training=training)",
                                                               "F.dropout(layer_output, dropout, training=True)")),
    "forward_same_state_every_layer": _swap("lstm_forward", ("h, c = h0[layer], c0[layer]", "h, c = h0[0], c0[0]")),
    "forward_every_layer_reads_x": _swap("lstm_forward", ("        layer_input = layer_output\n", "        last = layer_output\n"),
                                         ("return layer_input, (torch.stack", "return last, (torch.stack")),
    # ---- hidden_grad_norms
    "grad_state_detached_each_step": _swap(
        "hidden_grad_norms",
        ("        hs.append(state[0] if isinstance(state, (tuple, list)) else state)\n",
         "        hs.append(state[0] if isinstance(state, (tuple, list)) else state)\n"
         "        state = tuple(s.detach() for s in state) if isinstance(state, (tuple, list)) else state.detach()\n"),
    ),
    "grad_reversed_order": _swap("hidden_grad_norms", ("return torch.stack(norms).detach()", "return torch.stack(norms[::-1]).detach()")),
    "grad_norm_of_hidden_state": _swap("hidden_grad_norms", ("else g.norm(dim=-1).mean()", "else h.norm(dim=-1).mean()")),
    "grad_norm_over_whole_batch": _swap("hidden_grad_norms", ("else g.norm(dim=-1).mean()", "else g.norm()")),
    # ---- CharLSTM.forward
    "char_ignores_hidden": _swap("char_lstm", ("lstm_forward(emb, self.layer_params(), hidden,", "lstm_forward(emb, self.layer_params(), None,")),
    "char_dropout_always": _swap("char_lstm", ("training=self.training)", "training=True)")),
    "char_dropout_never": _swap("char_lstm", ("training=self.training)", "training=False)")),
    "char_dropout_before_projection": _swap(
        "char_lstm", ("return self.proj(out), hidden", "return self.proj(F.dropout(out, self.dropout, self.training)), hidden")),
    # ---- generate
    "generate_without_prime": _swap("generate", ('return prime + "".join', 'return "".join')),
    "generate_reads_last_prime_char_only": _swap("generate", ("[stoi[ch] for ch in prime]", "[stoi[prime[-1]]]")),
    "generate_inverse_temperature": _swap("generate", ("torch.softmax(last / temperature, dim=-1)",
                                                       "torch.softmax(last * temperature, dim=-1)")),
    "generate_ignores_temperature": _swap("generate", ("torch.softmax(last / temperature, dim=-1)",
                                                       "torch.softmax(last, dim=-1)")),
    "generate_one_short": _swap("generate", ("for _ in range(length):", "for _ in range(length - 1):")),
    "generate_greedy_ties_to_last": _swap("generate", ("token = int(last.argmax())",
                                                       "token = len(last) - 1 - int(last.flip(0).argmax())")),
    "generate_ignores_generator": _swap("generate", ("torch.multinomial(probs, 1, generator=generator)",
                                                     "torch.multinomial(probs, 1)")),
    "generate_wraps_package_sampler": ("generate", '''def generate(model, chars, prime, length, temperature=1.0, generator=None):
    stoi = {ch: i for i, ch in enumerate(chars)}
    new = decoding.sample(model, [stoi[ch] for ch in prime], length, temperature=temperature, generator=generator)
    return prime + "".join(chars[i] for i in new)
'''),
    # ---- unit_correlations (the challenge)
    "corr_not_centred": _swap("unit_correlations", ("    a = a - a.mean(dim=0)\n    s = s - s.mean()\n", "")),
    "corr_covariance_only": _swap("unit_correlations", ("num / torch.where(den > 0, den, 1.0)", "num / len(s)")),
    "corr_nan_for_constants": _swap("unit_correlations", (
        "return torch.where(den > 0, num / torch.where(den > 0, den, 1.0), torch.zeros_like(num))", "return num / den")),
    "corr_absolute_value": _swap("unit_correlations", (
        "return torch.where(den > 0, num / torch.where(den > 0, den, 1.0), torch.zeros_like(num))",
        "return torch.where(den > 0, num / torch.where(den > 0, den, 1.0), torch.zeros_like(num)).abs()")),
    "corr_mixed_sample_and_population": _swap("unit_correlations", (
        "den = a.norm(dim=0) * s.norm()", "den = a.norm(dim=0) * s.norm() * len(s) / (len(s) - 1)")),
    "corr_float32": _swap("unit_correlations", ("torch.as_tensor(acts, dtype=torch.float64)", "torch.as_tensor(acts, dtype=torch.float32)"),
                          ("torch.as_tensor(signal, dtype=torch.float64)", "torch.as_tensor(signal, dtype=torch.float32)")),
    # ---- my_unit: the claim must hold on held-out text
    "claim_unit_zero": _swap("my_unit", ("MY_UNIT = int(search_r.abs().argmax())", "MY_UNIT = 0")),
    "claim_weakest_unit": _swap("my_unit", ("MY_UNIT = int(search_r.abs().argmax())", "MY_UNIT = int(search_r.abs().argmin())")),
    "claim_constant_signal": _swap("my_unit", ("values.append(float(run))", "values.append(1.0)")),
    "claim_random_signal": _swap("my_unit", ("values.append(float(run))", "values.append(float(torch.rand(())))")),
    "claim_signal_reads_the_model": ("my_unit", '''def my_signal(text):
    return record(char_model, text)["c"][:, 0].tolist()     # the unit itself: not a property of the text


MY_STATE = "c"
MY_UNIT = 0
'''),
}

# Correct answers written differently: each must keep full marks.
ALTERNATIVES = {
    "gru_cell_interpolates_the_other_way": _swap("gru_cell", ("return (1 - z) * n + z * h", "return n + z * (h - n)")),
    "corr_zscores": ("unit_correlations", '''def unit_correlations(acts, signal):
    import numpy as np
    a = np.asarray(acts, dtype=np.float64)
    s = np.asarray(signal, dtype=np.float64).reshape(-1)
    sa, ss = a.std(axis=0), s.std()
    za = np.divide(a - a.mean(axis=0), sa, out=np.zeros_like(a), where=sa > 0)
    zs = (s - s.mean()) / ss if ss > 0 else np.zeros_like(s)
    return torch.from_numpy((za * zs[:, None]).mean(axis=0))
'''),
    "claim_space_unit_in_h": ("my_unit", '''def my_signal(text):
    return [1.0 if ch == " " else 0.0 for ch in text]       # just read a space


MY_STATE = "h"
search_r = unit_correlations(search_acts[MY_STATE], my_signal(search_text))
MY_UNIT = int(search_r.abs().argmax())
'''),
    "generate_argmax_and_functional_softmax": _swap("generate", ("torch.softmax(last / temperature, dim=-1)",
                                                                 "F.softmax(last.double() / temperature, dim=0)"),
                                                    ("token = int(last.argmax())", "token = int(torch.argmax(last, dim=0))")),
}
