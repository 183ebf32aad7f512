"""Plausible wrong answers for Assignment 4 (sequence to sequence); each must lose points on its item.
``ALTERNATIVES`` are correct answers written differently; they must keep full marks.

Most entries are the solution cell with one change swapped in (read from the source notebook, so they
follow edits to the solution; a swap that no longer matches raises here).
"""
from __future__ import annotations

from mutants import swapper

_swap = swapper("a4_seq2seq")

_PACK = "packed = pack_padded_sequence(embedded, src_lengths.cpu(), batch_first=True, enforce_sorted=False)"
_FINALS = "finals = torch.cat([h_n[:, 0], h_n[:, 1]], dim=-1)            # [num_layers, B, 2H]"
_COIN = "coin = torch.rand(tgt.size(0), generator=generator) < teacher_forcing"
_LOSS = "return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=pad_index)"
_GREEDY_APPEND = "if not finished[b] and tokens[b] != eos:"

MUTANTS: dict[str, tuple[str, str]] = {
    # ---- Encoder
    "encoder_sorted_packing": _swap("encoder", (_PACK, _PACK.replace("enforce_sorted=False", "enforce_sorted=True"))),
    "encoder_no_packing": _swap(
        "encoder",
        (_PACK + "\n        packed_outputs, h_n = self.rnn(packed)\n"
         "        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=max_len)",
         "outputs, h_n = self.rnn(embedded)")),
    "encoder_no_total_length": _swap("encoder", ("batch_first=True, total_length=max_len)", "batch_first=True)")),
    "encoder_last_layer_everywhere": _swap(
        "encoder", (_FINALS, "finals = torch.cat([h_n[-1, 0], h_n[-1, 1]], dim=-1).expand(self.num_layers, -1, -1)")),
    "encoder_wrong_view_order": _swap(
        "encoder", ("h_n = h_n.view(self.num_layers, 2, batch_size, self.hidden_dim)",
                    "h_n = h_n.view(2, self.num_layers, batch_size, self.hidden_dim).transpose(0, 1)")),
    "encoder_backward_first": _swap("encoder", (_FINALS, "finals = torch.cat([h_n[:, 1], h_n[:, 0]], dim=-1)")),
    "encoder_bridge_no_tanh": _swap("encoder", ("decoder_init = torch.tanh(self.bridge(finals))",
                                                "decoder_init = self.bridge(finals)")),
    "encoder_finals_from_outputs": _swap(
        "encoder", (_FINALS, "finals = outputs[:, -1].unsqueeze(0).expand(self.num_layers, -1, -1)")),
    "encoder_relu_bridge": _swap("encoder", ("decoder_init = torch.tanh(self.bridge(finals))",
                                             "decoder_init = torch.relu(self.bridge(finals))")),
    # ---- Decoder.step
    "decoder_no_initial_hidden": _swap("decoder_step", ("output, hidden = self.rnn(embedded, hidden)",
                                                        "output, hidden = self.rnn(embedded)")),
    "decoder_softmax": _swap("decoder_step", ("logits = self.out(self.drop(output.squeeze(1)))",
                                              "logits = torch.softmax(self.out(self.drop(output.squeeze(1))), -1)")),
    "decoder_returns_top_layer_only": _swap("decoder_step", ("output, hidden = self.rnn(embedded, hidden)",
                                                             "output, hidden = self.rnn(embedded, hidden)\n"
                                                             "        hidden = hidden[-1:].expand_as(hidden)")),
    "decoder_projects_hidden_of_first_layer": _swap(
        "decoder_step", ("logits = self.out(self.drop(output.squeeze(1)))", "logits = self.out(self.drop(hidden[0]))")),
    # ---- Seq2Seq.forward
    "forward_coin_reversed": _swap("seq2seq_forward", (_COIN, _COIN.replace("<", ">"))),
    "forward_one_coin_per_batch": _swap("seq2seq_forward", (_COIN, _COIN.replace("torch.rand(tgt.size(0),", "torch.rand(1,"))),
    "forward_python_random": _swap("seq2seq_forward", (_COIN, "coin = torch.full((tgt.size(0),), "
                                                              "__import__('random').random() < teacher_forcing)")),
    "forward_feeds_previous_truth": _swap("seq2seq_forward", ("torch.where(coin, tgt[:, t], ", "torch.where(coin, tgt[:, t - 1], ")),
    "forward_stack_time_first": _swap("seq2seq_forward", ("return torch.stack(all_logits, dim=1)",
                                                          "return torch.stack(all_logits, dim=0).reshape(tgt.size(0), tgt.size(1) - 1, -1)")),
    "forward_keeps_first_input": _swap("seq2seq_forward", ("inputs = torch.where(coin, tgt[:, t], logits.argmax(dim=-1))",
                                                           "inputs = torch.where(coin, tgt[:, t], inputs)")),
    # ---- seq2seq_loss
    "loss_no_shift": _swap("seq2seq_loss", ("targets = tgt[:, 1:]", "targets = tgt[:, :-1]")),
    "loss_counts_padding": _swap("seq2seq_loss", (_LOSS, _LOSS.replace(", ignore_index=pad_index", ""))),
    "loss_pad_zero": _swap("seq2seq_loss", (_LOSS, _LOSS.replace("ignore_index=pad_index", "ignore_index=0"))),
    "loss_mean_over_all_positions": _swap(
        "seq2seq_loss", (_LOSS, "mask = targets != pad_index\n"
                                "    losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction='none')\n"
                                "    return (losses * mask).sum() / mask.numel()")),
    "loss_mean_per_sentence": _swap(
        "seq2seq_loss", (_LOSS, "mask = (targets != pad_index).double()\n"
                                "    losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction='none')\n"
                                "    return ((losses * mask).sum(1) / mask.sum(1)).mean()")),
    "loss_sum": _swap("seq2seq_loss", ("ignore_index=pad_index)", "ignore_index=pad_index, reduction='sum')")),
    # ---- greedy_decode
    "greedy_no_per_row_stop": _swap("greedy_decode", (_GREEDY_APPEND, "if tokens[b] != eos:")),
    "greedy_keeps_eos": _swap("greedy_decode", (_GREEDY_APPEND, "if not finished[b]:")),
    "greedy_stops_at_first_eos": _swap("greedy_decode", ("if finished.all():", "if finished.any():")),
    "greedy_one_step_short": _swap("greedy_decode", ("logits, hidden = model.decoder.step(tokens, hidden)",
                                                     "logits, hidden = model.decoder.step(tokens, hidden)\n"
                                                     "        if len(results[0]) >= max_len - 1 and not finished.all():\n"
                                                     "            break")),
    "greedy_feeds_sos_always": _swap("greedy_decode", ("        if finished.all():\n            break",
                                                       "        if finished.all():\n            break\n"
                                                       "        tokens = torch.full_like(tokens, sos)")),
    # ---- scheduled_teacher_forcing
    "schedule_linear_no_floor": _swap("scheduled_teacher_forcing", ("return float(max(minimum, k - c * step))",
                                                                    "return float(k - c * step)")),
    "schedule_sigmoid_wrong_sign": _swap("scheduled_teacher_forcing", ("exponent = step / k", "exponent = -step / k")),
    "schedule_sigmoid_overflows": _swap("scheduled_teacher_forcing", ("        if exponent > 700:            # exp would overflow; the value is 0 to double precision\n            return 0.0\n", "")),
    "schedule_exponential_decays_from_c": _swap("scheduled_teacher_forcing", ("return float(k ** step)", "return float(k ** (step + 1))")),
    "schedule_unknown_kind_returns_one": _swap(
        "scheduled_teacher_forcing",
        ('raise ValueError(f"unknown schedule kind {kind!r}: use linear, exponential or inverse_sigmoid")', "return 1.0")),
}

ALTERNATIVES: dict[str, tuple[str, str]] = {
    "encoder_stack_by_slicing": _swap("encoder", (
        "h_n = h_n.view(self.num_layers, 2, batch_size, self.hidden_dim)\n"
        "        finals = torch.cat([h_n[:, 0], h_n[:, 1]], dim=-1)            # [num_layers, B, 2H]",
        "finals = torch.cat([h_n[0::2], h_n[1::2]], dim=2)")),
    "encoder_sort_and_unsort": _swap("encoder", (
        _PACK + "\n        packed_outputs, h_n = self.rnn(packed)\n"
        "        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=max_len)",
        "order = src_lengths.argsort(descending=True)\n"
        "        unsort = order.argsort()\n"
        "        packed = pack_padded_sequence(embedded[order], src_lengths[order].cpu(), batch_first=True)\n"
        "        packed_outputs, h_n = self.rnn(packed)\n"
        "        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=max_len)\n"
        "        outputs, h_n = outputs[unsort], h_n[:, unsort]")),
    "decoder_step_via_cell_layout": _swap("decoder_step", (
        "embedded = self.drop(self.embedding(prev_tokens.unsqueeze(1)))   # [B, 1, E]\n"
        "        output, hidden = self.rnn(embedded, hidden)                        # [B, 1, H]\n"
        "        logits = self.out(self.drop(output.squeeze(1)))                   # [B, V]",
        "x = self.drop(self.embedding(prev_tokens))[:, None, :]\n"
        "        out, new_hidden = self.rnn(x, hidden.contiguous())\n"
        "        logits, hidden = self.out(self.drop(out[:, -1])), new_hidden")),
    "forward_coin_then_step": _swap("seq2seq_forward", (
        "            logits, hidden = self.decoder.step(inputs, hidden)\n"
        "            all_logits.append(logits)\n"
        "            coin = torch.rand(tgt.size(0), generator=generator) < teacher_forcing\n"
        "            inputs = torch.where(coin, tgt[:, t], logits.argmax(dim=-1))",
        "            if t > 1:\n"
        "                use_truth = torch.rand(len(tgt), generator=generator) < teacher_forcing\n"
        "                inputs = tgt[:, t - 1].clone()\n"
        "                inputs[~use_truth] = all_logits[-1].argmax(-1)[~use_truth]\n"
        "            step_logits, hidden = self.decoder.step(inputs, hidden)\n"
        "            all_logits.append(step_logits)")),
    "loss_masked_by_hand": _swap("seq2seq_loss", (_LOSS,
        "log_probs = torch.log_softmax(logits, dim=-1)\n"
        "    picked = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)\n"
        "    mask = targets != pad_index\n"
        "    return -(picked * mask).sum() / mask.sum()")),
    "greedy_with_python_lists": _swap("greedy_decode", (
        "        tokens = logits.argmax(dim=-1)\n"
        "        for b in range(batch_size):\n"
        "            if not finished[b] and tokens[b] != eos:\n"
        "                results[b].append(int(tokens[b]))\n"
        "        finished |= tokens == eos\n"
        "        if finished.all():\n"
        "            break",
        "        tokens = logits.argmax(dim=-1)\n"
        "        alive = [b for b in range(batch_size) if not finished[b]]\n"
        "        for b in alive:\n"
        "            if tokens[b].item() == eos:\n"
        "                finished[b] = True\n"
        "            else:\n"
        "                results[b].append(tokens[b].item())\n"
        "        if bool(finished.all()):\n"
        "            break")),
    "schedule_dict_of_lambdas": ("scheduled_teacher_forcing", '''import math as _m

def scheduled_teacher_forcing(step, kind, k, c=0.0, minimum=0.0):
    """Bengio et al. (2015) decays."""
    rules = {
        "linear": lambda: max(minimum, k - c * step),
        "exponential": lambda: k ** step,
        "inverse_sigmoid": lambda: k / (k + _m.exp(step / k)) if step / k < 700 else 0.0,
    }
    if kind not in rules:
        raise ValueError(kind)
    return float(rules[kind]())
'''),
}
