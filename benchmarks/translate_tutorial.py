"""The baseline of ``benchmarks/translate.py``: a GRU encoder-decoder with attention written in
plain torch the way the PyTorch tutorial writes it ("NLP From Scratch: Translation with a
Sequence to Sequence Network and Attention", its batched version), with masks added.

The tutorial's recipe: a unidirectional GRU encoder, a GRU decoder whose input is the embedded
previous token concatenated with a Bahdanau context (query = the previous decoder state), a
linear output layer, dropout 0.1, hidden 128, Adam at 1e-3, teacher forcing in training and
greedy decoding. "Batched with masks": the encoder runs on packed sequences, the attention's
softmax ignores source padding, and the loss ignores target padding (the tutorial's batches
train on padding and attend to it). The best weights by validation BLEU are kept, as the
recurrente trainer keeps its best checkpoint.
"""

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from recurrente.data.padded import pad


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, src, lengths):  # src (B, S)
        embedded = self.dropout(self.embedding(src))
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        output, hidden = self.gru(packed)
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=src.shape[1])
        return output, hidden  # (B, S, H), (1, B, H)


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys, mask):  # query (B, 1, H), keys (B, S, H), mask (B, S)
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))  # (B, S, 1)
        scores = scores.squeeze(2).unsqueeze(1).masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = F.softmax(scores, dim=-1)  # (B, 1, S)
        return torch.bmm(weights, keys), weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward_step(self, input, hidden, encoder_outputs, mask):
        embedded = self.dropout(self.embedding(input))  # (B, 1, H)
        query = hidden.permute(1, 0, 2)
        context, _ = self.attention(query, encoder_outputs, mask)
        output, hidden = self.gru(torch.cat((embedded, context), dim=2), hidden)
        return self.out(output), hidden  # (B, 1, V)

    def forward(self, encoder_outputs, encoder_hidden, mask, target_in):
        """Teacher forcing: ``target_in (B, T)`` starts with <bos>; log-probs ``(B, T, V)``."""
        hidden, outputs = encoder_hidden, []
        for i in range(target_in.shape[1]):
            output, hidden = self.forward_step(target_in[:, i:i + 1], hidden, encoder_outputs,
                                               mask)
            outputs.append(output)
        return F.log_softmax(torch.cat(outputs, dim=1), dim=-1)


class Tutorial(nn.Module):
    def __init__(self, source_size, target_size, hidden_size=128, dropout_p=0.1):
        super().__init__()
        self.encoder = EncoderRNN(source_size, hidden_size, dropout_p)
        self.decoder = AttnDecoderRNN(hidden_size, target_size, dropout_p)

    def loss(self, src, src_lengths, tgt_in, tgt_out):
        """Summed NLL over the real target tokens, and their number (batch-first tensors)."""
        outputs, hidden = self.encoder(src, src_lengths)
        mask = torch.arange(src.shape[1]).unsqueeze(0) < src_lengths.unsqueeze(1)  # (B, S)
        log_probs = self.decoder(outputs, hidden, mask, tgt_in)  # (B, T, V)
        loss = F.nll_loss(log_probs.reshape(-1, log_probs.shape[-1]), tgt_out.reshape(-1),
                          ignore_index=0, reduction="sum")
        return loss, int((tgt_out != 0).sum())

    @torch.no_grad()
    def greedy(self, src, src_lengths, bos, eos, max_len):
        """The tutorial's decoding, batched: the argmax fed back until every row wrote eos."""
        outputs, hidden = self.encoder(src, src_lengths)
        mask = torch.arange(src.shape[1]).unsqueeze(0) < src_lengths.unsqueeze(1)
        token = torch.full((src.shape[0], 1), bos, dtype=torch.long)
        done = torch.zeros(src.shape[0], dtype=torch.bool)
        written = []
        for _ in range(max_len):
            output, hidden = self.decoder.forward_step(token, hidden, outputs, mask)
            token = output.argmax(-1)  # (B, 1)
            written.append(token[:, 0])
            done |= token[:, 0] == eos
            if bool(done.all()):
                break
        rows = torch.stack(written, 1).tolist()
        return [row[:row.index(eos)] if eos in row else row for row in rows]


def batch_tensors(data, indices, bos, eos):
    """Batch-first ``src, src_lengths, tgt_in, tgt_out`` of pairs ``indices``."""
    src, lengths = pad([data.sources[i] for i in indices], 0)
    tgt_in, _ = pad([np.concatenate([[bos], data.targets[i]]) for i in indices], 0)
    tgt_out, _ = pad([np.concatenate([data.targets[i], [eos]]) for i in indices], 0)
    return src.T.contiguous(), lengths, tgt_in.T.contiguous(), tgt_out.T.contiguous()


def train_step(model, optimizer, data, indices, bos, eos) -> int:
    model.train()
    loss, count = model.loss(*batch_tensors(data, indices, bos, eos))
    optimizer.zero_grad()
    (loss / count).backward()
    optimizer.step()
    return count


def decode(model, sources, bos, eos, batch_size=64, a=1.5, b=10):
    """Greedy outputs of id arrays, in order (batches in file order, as the tutorial)."""
    model.eval()
    out = []
    for start in range(0, len(sources), batch_size):
        chunk = sources[start:start + batch_size]
        src, lengths = pad(chunk, 0)
        out += model.greedy(src.T.contiguous(), lengths, bos, eos,
                            int(a * int(lengths.max()) + b))
    return out


def train_for(model, train, budget: float, bos: int, eos: int, evaluate, evals: int = 6,
              batch_size: int = 32, lr: float = 1e-3, seed: int = 0) -> dict:
    """Adam on shuffled batches for ``budget`` training seconds; ``evaluate(model) -> BLEU``
    ``evals`` times, evenly (not counted); keeps the best weights. Returns the run's numbers."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    elapsed, steps, tokens, best, best_state = 0.0, 0, 0, -1.0, None
    next_eval = budget / evals
    while elapsed < budget:
        order = rng.permutation(len(train))
        for start in range(0, len(order), batch_size):
            began = time.perf_counter()
            tokens += train_step(model, optimizer, train, order[start:start + batch_size], bos,
                                 eos)
            elapsed += time.perf_counter() - began
            steps += 1
            if elapsed >= next_eval or elapsed >= budget:
                next_eval += budget / evals
                score = evaluate(model)
                if score > best:
                    best = score
                    best_state = {k: v.clone() for k, v in model.state_dict().items()}
            if elapsed >= budget:
                break
    model.load_state_dict(best_state)
    return {"steps": steps, "train_seconds": elapsed, "tokens_per_s": tokens / elapsed,
            "valid_bleu": best}
