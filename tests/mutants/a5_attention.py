"""Plausible wrong answers for Assignment 5 (attention); each must lose points on its item.

``MUTANTS = {name: (grade_id, replacement_source)}``, mostly the solution cell with one mistake swapped
in. ``ALTERNATIVES`` are correct answers written differently; they must keep full marks.
"""
from __future__ import annotations

from mutants import swapper

_swap = swapper("a5_attention")

_SOFTMAX_FILL = 'weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)'
_ATTN_FORWARD = "weights = masked_softmax(self.score(query, keys), mask)          # [B, S]"
_ATTN_CONTEXT = "context = torch.bmm(weights.unsqueeze(1), values).squeeze(1)     # [B, Hv]"
_CONCAT_SCORE = "return self.v_a(torch.tanh(self.W_a(pairs))).squeeze(2)"
_CONCAT_PAIRS = "pairs = torch.cat([query.unsqueeze(1).expand(-1, S, -1), keys], dim=-1)   # [B, S, Hq + Hk]"
_LOSS = ("loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1), "
         "ignore_index=pad_index)")
_B_ATTEND = "context, weights = self.attention(hidden, memory, memory, mask)\n        hidden = self.cell("
_B_OUT = "logits = self.out(torch.cat([hidden, context, embedded], dim=-1))"

MUTANTS: dict[str, tuple[str, str]] = {
    # ---- masked_softmax
    "softmax_wrong_dim": _swap("masked_softmax", (_SOFTMAX_FILL, _SOFTMAX_FILL.replace("dim=-1", "dim=0"))),
    "softmax_mask_after_renormalised": _swap("masked_softmax", (
        _SOFTMAX_FILL,
        "weights = torch.softmax(scores, dim=-1) * mask\n    weights = weights / weights.sum(-1, keepdim=True)")),
    "softmax_mask_after_not_renormalised": _swap("masked_softmax", (
        _SOFTMAX_FILL, "weights = torch.softmax(scores, dim=-1) * mask")),
    "softmax_fill_minus_1e4": _swap("masked_softmax", (_SOFTMAX_FILL, _SOFTMAX_FILL.replace('float("-inf")', "-1e4"))),
    "softmax_fill_minus_1e9": _swap("masked_softmax", (_SOFTMAX_FILL, _SOFTMAX_FILL.replace('float("-inf")', "-1e9"))),
    "softmax_mask_inverted": _swap("masked_softmax", (_SOFTMAX_FILL, _SOFTMAX_FILL.replace("(~mask,", "(mask,")),
                                   ("empty = ~mask.any(dim=-1)", "empty = ~(~mask).any(dim=-1)")),
    "softmax_exp_without_max": _swap("masked_softmax", (
        _SOFTMAX_FILL, "e = torch.exp(scores) * mask\n    weights = e / e.sum(-1, keepdim=True)")),
    "softmax_max_over_padding_too": _swap("masked_softmax", (
        _SOFTMAX_FILL,
        "e = torch.exp(scores - scores.max(-1, keepdim=True).values) * mask\n"
        "    weights = e / e.sum(-1, keepdim=True)")),
    "softmax_no_error_for_empty_row": _swap("masked_softmax", ("    if empty.any():\n", "    if False:\n")),
    "softmax_error_without_row": _swap("masked_softmax", ('f"row {row} of the mask', '"a row of the mask')),
    # ---- attention modules
    "attention_no_mask": _swap("attention", (_ATTN_FORWARD, "weights = torch.softmax(self.score(query, keys), dim=-1)")),
    "attention_softmax_over_batch": _swap("attention", (
        _ATTN_FORWARD, "weights = torch.softmax(self.score(query, keys).masked_fill(~mask, float('-inf')), dim=0)")),
    "attention_context_from_keys": _swap("attention", (_ATTN_CONTEXT, _ATTN_CONTEXT.replace("values)", "keys)"))),
    "attention_context_mean_not_weighted": _swap("attention", (
        _ATTN_CONTEXT, "context = (values * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)")),
    "dot_scaled": _swap("attention", ("return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)",
                                      "return torch.bmm(keys, query.unsqueeze(2)).squeeze(2) / keys.shape[-1] ** 0.5")),
    "general_W_transposed": _swap("attention", ("(query @ self.W_a.weight).unsqueeze(2)",
                                                "(self.W_a(query)).unsqueeze(2)")),
    "concat_missing_v_a": _swap("attention", (_CONCAT_SCORE, "return torch.tanh(self.W_a(pairs)).sum(-1)")),
    "concat_tanh_after_v_a": _swap("attention", (_CONCAT_SCORE, "return torch.tanh(self.v_a(self.W_a(pairs))).squeeze(2)")),
    "concat_no_tanh": _swap("attention", (_CONCAT_SCORE, "return self.v_a(self.W_a(pairs)).squeeze(2)")),
    "concat_keys_first": _swap("attention", (_CONCAT_PAIRS, "pairs = torch.cat([keys, query.unsqueeze(1).expand(-1, S, -1)], dim=-1)")),
    # ---- LuongDecoder.step
    "luong_attends_with_old_state": _swap("luong", (
        "        hidden = self.cell(embedded, hidden)\n", "        old = hidden\n        hidden = self.cell(embedded, hidden)\n"),
        ("self.attention(hidden, memory", "self.attention(old, memory")),
    "luong_no_tanh": _swap("luong", ("h_tilde = torch.tanh(self.W_c(", "h_tilde = (self.W_c(")),
    "luong_concat_order": _swap("luong", ("torch.cat([context, hidden], dim=-1)", "torch.cat([hidden, context], dim=-1)")),
    "luong_logits_from_hidden": _swap("luong", ("logits = self.out(h_tilde)", "logits = self.out(hidden)")),
    "luong_returns_h_tilde_as_state": _swap("luong", ("logits = self.out(h_tilde)", "logits = self.out(h_tilde)\n        hidden = h_tilde")),
    # ---- attention_loss
    "loss_counts_padding": _swap("attention_loss", (_LOSS, _LOSS.replace(", ignore_index=pad_index", ""))),
    "loss_targets_not_shifted": _swap("attention_loss", (_LOSS, _LOSS.replace("tgt[:, 1:]", "tgt[:, :-1]"))),
    "loss_sum_not_mean": _swap("attention_loss", (_LOSS, _LOSS.replace("ignore_index=pad_index)", "ignore_index=pad_index, reduction='sum')"))),
    "loss_feeds_own_predictions": _swap("attention_loss", (
        "decoder.step(tgt[:, t], hidden", "decoder.step(tgt[:, 0] if t == 0 else all_logits[-1].argmax(-1), hidden")),
    "loss_mean_per_sentence": _swap("attention_loss", (
        _LOSS,
        "nll = F.cross_entropy(logits.transpose(1, 2), tgt[:, 1:], ignore_index=pad_index, reduction='none')\n"
        "    real = (tgt[:, 1:] != pad_index).sum(1)\n"
        "    loss = (nll.sum(1) / real.clamp(min=1)).mean()")),
    # ---- BahdanauDecoder.step
    "bahdanau_attends_with_new_state": _swap("bahdanau", (
        _B_ATTEND, "old = hidden\n        context, weights = self.attention(hidden, memory, memory, mask)\n"
                   "        hidden = self.cell("),
        ("hidden = self.cell(torch.cat([embedded, context], dim=-1), hidden)",
         "hidden = self.cell(torch.cat([embedded, context], dim=-1), old)\n"
         "        context, weights = self.attention(hidden, memory, memory, mask)")),
    "bahdanau_input_order": _swap("bahdanau", ("torch.cat([embedded, context], dim=-1)", "torch.cat([context, embedded], dim=-1)")),
    "bahdanau_output_order": _swap("bahdanau", (_B_OUT, "logits = self.out(torch.cat([context, hidden, embedded], dim=-1))")),
    "bahdanau_output_from_old_state": _swap("bahdanau", (
        "hidden = self.cell(torch.cat([embedded, context], dim=-1), hidden)\n",
        "new = self.cell(torch.cat([embedded, context], dim=-1), hidden)\n"),
        (_B_OUT + "\n        return logits, hidden, weights",
         _B_OUT + "\n        return logits, new, weights")),
    # ---- plot_attention (1 point: the layout of the picture)
    "plot_transposed": _swap("plot_attention", ("torch.as_tensor(weights).detach().cpu().numpy()",
                                                "torch.as_tensor(weights).detach().cpu().numpy().T")),
    "plot_labels_on_wrong_axes": _swap(
        "plot_attention",
        ("ax.set_xticks(range(len(src_tokens)), labels=list(src_tokens)", "ax.set_xticks(range(len(tgt_tokens)), labels=list(tgt_tokens)"),
        ("ax.set_yticks(range(len(tgt_tokens)), labels=list(tgt_tokens))", "ax.set_yticks(range(len(src_tokens)), labels=list(src_tokens))")),
    "plot_no_axis_names": _swap("plot_attention", ('    ax.set_xlabel("source")\n    ax.set_ylabel("target (predicted token)")\n', "")),
}

ALTERNATIVES: dict[str, tuple[str, str]] = {
    "softmax_where_minus_inf": _swap("masked_softmax", (
        _SOFTMAX_FILL,
        "filled = scores + torch.where(mask, 0.0, float('-inf')).to(scores.dtype)\n"
        "    weights = torch.softmax(filled, dim=-1)")),
    "softmax_by_hand_max_over_real": _swap("masked_softmax", (
        _SOFTMAX_FILL,
        "top = scores.masked_fill(~mask, float('-inf')).max(-1, keepdim=True).values\n"
        "    e = torch.exp((scores - top).masked_fill(~mask, float('-inf')))\n"
        "    weights = e / e.sum(-1, keepdim=True)")),
    "attention_einsum": _swap(
        "attention",
        (_ATTN_CONTEXT, "context = torch.einsum('bs,bsv->bv', weights, values)"),
        ("return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)", "return torch.einsum('bh,bsh->bs', query, keys)"),
        ("return torch.bmm(keys, (query @ self.W_a.weight).unsqueeze(2)).squeeze(2)",
         "return torch.einsum('bq,qk,bsk->bs', query, self.W_a.weight, keys)"),
        (_CONCAT_PAIRS + "\n        " + _CONCAT_SCORE,
         "Hq = query.shape[-1]\n"
         "        W_q, W_k = self.W_a.weight[:, :Hq], self.W_a.weight[:, Hq:]\n"
         "        return torch.tanh(query[:, None, :] @ W_q.T + keys @ W_k.T) @ self.v_a.weight[0]")),
    "loss_nll_masked_mean": _swap("attention_loss", (
        _LOSS,
        "logp = torch.log_softmax(logits, dim=-1).gather(-1, tgt[:, 1:, None]).squeeze(-1)\n"
        "    real = tgt[:, 1:] != pad_index\n"
        "    loss = -(logp * real).sum() / real.sum()")),
}
