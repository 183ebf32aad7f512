"""Plausible wrong answers for Assignment 2 (RNN language model); each must lose points on its item.

``MUTANTS = {name: (grade_id, replacement_source)}``. Most mutants are the solution cell with one
mistake swapped in (read from the source notebook at import time, so they follow edits to the
solution; a swap that no longer matches raises here, loudly). The delegating ones are written out.
"""
from __future__ import annotations

from mutants import solution_sources, swapper

_SOURCES = solution_sources("a2_rnn_lm")
_swap = swapper("a2_rnn_lm")

_CELL = "return torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)"
_DETACH_LINE = "        hidden = detach_hidden(hidden)\n"
_CLIP_LINE = "        nn.utils.clip_grad_norm_(model.parameters(), clip)\n"
_EVAL_SUM = 'reduction="sum").item()'

MUTANTS = {
    # --- rnn_cell -------------------------------------------------------------------------------------
    "cell_relu": _swap("rnn_cell", ("torch.tanh(", "torch.relu(")),
    "cell_missing_hh_bias": _swap("rnn_cell", (" + b_hh)", ")")),
    "cell_untransposed_hh": _swap("rnn_cell", ("h_prev @ W_hh.T", "h_prev @ W_hh")),
    "cell_ignores_h_prev": _swap("rnn_cell", (" + h_prev @ W_hh.T", "")),
    "cell_delegates_to_nn_rnncell": ("rnn_cell", '''
def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    cell = nn.RNNCell(W_ih.size(1), W_ih.size(0)).to(x_t.dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(W_ih); cell.weight_hh.copy_(W_hh)
        cell.bias_ih.copy_(b_ih); cell.bias_hh.copy_(b_hh)
    return cell(x_t, h_prev)
'''),
    # --- rnn_forward ----------------------------------------------------------------------------------
    "forward_delegates_to_nn_rnn": ("rnn_forward", '''
def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    rnn = nn.RNN(W_ih.size(1), W_ih.size(0), batch_first=True).to(x.dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(W_ih); rnn.weight_hh_l0.copy_(W_hh)
        rnn.bias_ih_l0.copy_(b_ih); rnn.bias_hh_l0.copy_(b_hh)
    outputs, h_n = rnn(x, h0.unsqueeze(0))
    return outputs, h_n[0]
'''),
    "forward_outputs_include_h0": _swap("rnn_forward", (
        "        h = rnn_cell(x[:, t], h, W_ih, W_hh, b_ih, b_hh)\n        outputs.append(h)\n",
        "        outputs.append(h)\n        h = rnn_cell(x[:, t], h, W_ih, W_hh, b_ih, b_hh)\n")),
    "forward_time_major_outputs": _swap("rnn_forward", ("torch.stack(outputs, dim=1)", "torch.stack(outputs)")),
    "forward_restarts_from_h0": _swap("rnn_forward", ("rnn_cell(x[:, t], h, ", "rnn_cell(x[:, t], h0, ")),
    "forward_returns_h0_as_final": _swap("rnn_forward", ("return torch.stack(outputs, dim=1), h", "return torch.stack(outputs, dim=1), h0")),
    # --- word_lm --------------------------------------------------------------------------------------
    "lm_not_batch_first": _swap("word_lm", ("batch_first=True", "batch_first=False")),
    "lm_ignores_given_hidden": _swap("word_lm", ("self.rnn(emb, hidden)", "self.rnn(emb)")),
    "lm_returns_probabilities": _swap("word_lm", ("return self.proj(self.drop(out)), hidden",
                                                  "return torch.softmax(self.proj(self.drop(out)), dim=-1), hidden")),
    "lm_init_hidden_without_layer_dim": _swap("word_lm", ("(self.num_layers, batch_size, self.hidden_dim)",
                                                          "(batch_size, self.hidden_dim)")),
    "lm_init_hidden_single_tensor": _swap("word_lm", (
        "return (torch.zeros(shape, device=device), torch.zeros(shape, device=device))",
        "return torch.zeros(shape, device=device)")),
    "lm_never_applies_dropout": _swap("word_lm", ("self.drop(self.embedding(x))", "self.embedding(x)"),
                                      ("self.proj(self.drop(out))", "self.proj(out)")),
    # --- train_epoch ----------------------------------------------------------------------------------
    "train_no_detach": _swap("train_epoch", (_DETACH_LINE, "")),
    "train_no_detach_retain_graph": _swap("train_epoch", (_DETACH_LINE, ""),
                                          ("loss.backward()", "loss.backward(retain_graph=True)")),
    "train_resets_hidden_each_chunk": _swap("train_epoch", (
        _DETACH_LINE, "        hidden = model.init_hidden(data.size(0), device)\n")),
    "train_no_clipping": _swap("train_epoch", (_CLIP_LINE, "")),
    "train_clips_after_step": _swap("train_epoch", (_CLIP_LINE + "        optimizer.step()\n",
                                                    "        optimizer.step()\n" + _CLIP_LINE)),
    "train_clips_by_value": _swap("train_epoch", ("clip_grad_norm_", "clip_grad_value_")),
    "train_no_zero_grad": _swap("train_epoch", ("        optimizer.zero_grad()\n", "")),
    "train_mean_of_chunk_means": _swap("train_epoch", ("total_loss += loss.item() * y.numel()", "total_loss += loss.item()"),
                                       ("total_tokens += y.numel()", "total_tokens += 1")),
    "train_detach_drops_cell_state": _swap("train_epoch", ("return tuple(detach_hidden(h) for h in hidden)",
                                                           "return hidden[0].detach()")),
    # --- evaluate_perplexity --------------------------------------------------------------------------
    "eval_mean_of_chunk_perplexities": ("evaluate_perplexity", '''
def evaluate_perplexity(model, data, bptt):
    device = next(model.parameters()).device
    data = data.to(device)
    model.eval()
    hidden = model.init_hidden(data.size(0), device)
    ppls = []
    with torch.no_grad():
        for x, y in lm_chunks(data, bptt):
            logits, hidden = model(x, hidden)
            ppls.append(math.exp(F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1)).item()))
    return sum(ppls) / len(ppls)
'''),
    "eval_mean_of_chunk_losses": _swap("evaluate_perplexity", (_EVAL_SUM, ").item()"),
                                       ("total_tokens += y.numel()", "total_tokens += 1")),
    "eval_no_eval_mode": _swap("evaluate_perplexity", ("    model.eval()\n", "")),
    "eval_resets_hidden_each_chunk": _swap("evaluate_perplexity", ("logits, hidden = model(x, hidden)",
                                                                   "logits, _ = model(x)")),
    "eval_returns_mean_loss": _swap("evaluate_perplexity", ("return math.exp(total_loss / total_tokens)",
                                                            "return total_loss / total_tokens")),
    "eval_builds_graph": _swap("evaluate_perplexity", ("with torch.no_grad():", "if True:")),
    # --- next_token_distribution ----------------------------------------------------------------------
    "ntd_multiplies_by_temperature": _swap("next_token_distribution", (
        "torch.softmax(logits / temperature, dim=-1)", "torch.softmax(logits * temperature, dim=-1)")),
    "ntd_softmax_over_dim0": _swap("next_token_distribution", ("torch.softmax(logits / temperature, dim=-1)",
                                                               "torch.softmax(logits / temperature, dim=0)")),
    "ntd_no_greedy_case": _swap("next_token_distribution", ("if temperature == 0:", "if False:")),
    "ntd_log_probabilities": _swap("next_token_distribution", ("torch.softmax(logits / temperature, dim=-1)",
                                                               "torch.log_softmax(logits / temperature, dim=-1)")),
    "ntd_power_without_renormalising": _swap("next_token_distribution", (
        "torch.softmax(logits / temperature, dim=-1)", "torch.softmax(logits, dim=-1) ** (1 / temperature)")),
    # --- sample ---------------------------------------------------------------------------------------
    "sample_multiplies_by_temperature": _swap("sample", ("probs = next_token_distribution(last, temperature)",
                                                         "probs = torch.softmax(last * temperature, dim=-1)")),
    "sample_softmax_over_time": _swap("sample", ("last = logits[0, -1]", "last = logits[0]"),
                                      ("token = int(last.argmax())", "token = int(last[-1].argmax())"),
                                      ("probs = next_token_distribution(last, temperature)",
                                       "probs = torch.softmax(last / temperature, dim=0)[-1]")),
    "sample_always_greedy": _swap("sample", ("if temperature == 0:", "if True:")),
    "sample_includes_prime": _swap("sample", ("return generated", "return list(prime) + generated")),
    "sample_ignores_eos": _swap("sample", ("            if eos_index is not None and token == eos_index:\n"
                                           "                break\n", "")),
    "sample_drops_hidden_state": _swap("sample", ("model(torch.tensor([[token]], device=device), hidden)",
                                                  "model(torch.tensor([[token]], device=device))")),
    "sample_primes_with_last_token_only": _swap("sample", ("model(torch.tensor([list(prime)], device=device))",
                                                           "model(torch.tensor([[prime[-1]]], device=device))")),
    "cell_uses_fused_kernel": ("rnn_cell", """
def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    return torch.rnn_tanh_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)
"""),
    "forward_uses_fused_kernel": ("rnn_forward", """
def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    outputs, h_n = torch._VF.rnn_tanh(x, h0.unsqueeze(0), [W_ih, W_hh, b_ih, b_hh], True, 1, 0.0, False, False, True)
    return outputs, h_n[0]
"""),
    "ntd_ties_to_last": _swap("next_token_distribution", (
        "logits.argmax(dim=-1, keepdim=True)", "(logits.size(-1) - 1 - logits.flip(-1).argmax(dim=-1, keepdim=True))")),
    "sample_greedy_ties_to_last": _swap("sample", ("token = int(last.argmax())",
                                                   "token = len(last) - 1 - int(last.flip(0).argmax())")),
    "sample_ignores_generator": _swap("sample", ("torch.multinomial(probs.cpu(), 1, generator=generator)",
                                                 "torch.multinomial(probs.cpu(), 1)")),
    "lm_dropout_only_on_embeddings": _swap("word_lm", ("self.proj(self.drop(out))", "self.proj(out)")),
    "lm_dropout_only_on_outputs": _swap("word_lm", ("self.drop(self.embedding(x))", "self.embedding(x)")),
    # --- masked_lm_loss -------------------------------------------------------------------------------
    "masked_mean_over_all_positions": _swap("masked_lm_loss", ("/ real.sum()", "/ real.numel()")),
    "masked_mean_of_sentence_means": _swap("masked_lm_loss", ("return -(picked * real).sum() / real.sum()",
                                                              "return (-(picked * real).sum(1) / real.sum(1).clamp(min=1)).mean()")),
    "masked_log_of_softmax": _swap("masked_lm_loss", ("torch.log_softmax(logits, dim=-1)",
                                                      "torch.log(torch.softmax(logits, dim=-1))")),
    "masked_ignores_mask": _swap("masked_lm_loss", ("-(picked * real).sum()", "-picked.sum()")),
    "masked_pad_is_zero": _swap("masked_lm_loss", ("real = targets != pad_index", "real = targets != 0")),
    "masked_no_empty_check": _swap("masked_lm_loss", (
        "    if not bool(real.any()):\n        raise ValueError(\"the batch has no real token: every target is padding\")\n", "")),
    "masked_delegates_to_cross_entropy": ("masked_lm_loss", '''
def masked_lm_loss(logits, targets, pad_index):
    if not bool((targets != pad_index).any()):
        raise ValueError("no real token")
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=pad_index)
'''),
    # --- rnn_backward (the challenge) -----------------------------------------------------------------
    "bptt_no_recurrent_carry": _swap("rnn_backward", ("dh = grad_outputs[:, t] + dh_next", "dh = grad_outputs[:, t]")),
    "bptt_tanh_derivative_of_h": _swap("rnn_backward", ("(1 - hs[t + 1] ** 2)", "(1 - hs[t + 1])")),
    "bptt_dW_hh_with_current_state": _swap("rnn_backward", ("da.T @ hs[t]\n", "da.T @ hs[t + 1]\n")),
    "bptt_carry_through_transpose": _swap("rnn_backward", ("dh_next = da @ W_hh\n", "dh_next = da @ W_hh.T\n")),
    "bptt_no_h0_gradient": _swap("rnn_backward", ('grads["h0"] = dh_next', 'grads["h0"] = torch.zeros_like(h0)')),
    "bptt_weights_from_first_step_only": _swap("rnn_backward", ('grads["W_hh"] += da.T @ hs[t]', 'grads["W_hh"] = da.T @ hs[t]')),
    "bptt_uses_autograd": ("rnn_backward", '''
def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, grad_outputs):
    leaves = {"x": x, "h0": h0, "W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh}
    leaves = {k: v.detach().clone().requires_grad_() for k, v in leaves.items()}
    outputs, _ = rnn_forward(leaves["x"], leaves["h0"], leaves["W_ih"], leaves["W_hh"], leaves["b_ih"], leaves["b_hh"])
    grads = torch.autograd.grad((outputs * grad_outputs).sum(), list(leaves.values()))
    return dict(zip(leaves, grads))
'''),
}

# Correct answers written differently: each must keep full marks.
ALTERNATIVES = {
    "rnn_cell_with_linear": _swap("rnn_cell", (_CELL, "return torch.tanh(F.linear(x_t, W_ih, b_ih) + F.linear(h_prev, W_hh, b_hh))")),
    "masked_logsumexp_and_boolean_index": ("masked_lm_loss", '''
def masked_lm_loss(logits, targets, pad_index):
    mask = targets.ne(pad_index)
    if mask.sum() == 0:
        raise ValueError("every target is padding")
    z, y = logits[mask], targets[mask]                 # [N, V], [N]: the real positions only
    return (torch.logsumexp(z, dim=-1) - z[torch.arange(len(y)), y]).mean()
'''),
    "bptt_from_preactivations": ("rnn_backward", '''
def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, grad_outputs):
    B, T, D = x.shape
    pre, states = [], [h0]
    for t in range(T):
        pre.append(x[:, t] @ W_ih.T + b_ih + states[-1] @ W_hh.T + b_hh)
        states.append(torch.tanh(pre[-1]))
    dx = torch.zeros_like(x)
    dW_ih, dW_hh, db = torch.zeros_like(W_ih), torch.zeros_like(W_hh), torch.zeros_like(b_ih)
    carried = torch.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        da = (grad_outputs[:, t] + carried) * (1 - torch.tanh(pre[t]) ** 2)
        dx[:, t] = da @ W_ih
        dW_ih = dW_ih + torch.einsum("bh,bd->hd", da, x[:, t])
        dW_hh = dW_hh + torch.einsum("bh,bk->hk", da, states[t])
        db = db + da.sum(dim=0)
        carried = da @ W_hh
    return {"x": dx, "h0": carried, "W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db.clone()}
'''),
    "lm_functional_dropout": _swap("word_lm", ("emb = self.drop(self.embedding(x))",
                                               "emb = F.dropout(self.embedding(x), self.drop.p, self.training)"),
                                   ("return self.proj(self.drop(out)), hidden",
                                    "return self.proj(F.dropout(out, self.drop.p, training=self.training)), hidden")),
    "sample_manual_softmax": _swap("sample", ("probs = next_token_distribution(last, temperature)",
                                              "probs = torch.exp(last / temperature - torch.logsumexp(last / temperature, dim=-1))")),
}
