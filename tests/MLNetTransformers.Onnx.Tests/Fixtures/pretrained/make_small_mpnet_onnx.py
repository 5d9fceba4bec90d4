"""Writes small-mpnet.onnx: a small random MPNet encoder (2 layers, d 16, 2 heads, FFN 32, 26 positions from
padding_idx + 1, vocabulary 40, 32 relative-position buckets) exported by PyTorch's ONNX exporter from a module that
follows Hugging Face's modeling_mpnet.py line by line (its parameter names, create_position_ids_from_input_ids, the
relative position bias computed once in the encoder and added to every layer's scores, erf GELU, the pooler), as
sentence-transformers export all-mpnet-base-v2: inputs input_ids / attention_mask, output last_hidden_state, opset 13.
Needs Debian's python3-torch and python3-onnx (../shared/peers/install.sh):
    /usr/bin/python3 make_small_mpnet_onnx.py"""
import math
import torch
import torch.nn as nn
from make_small_bert_onnx import export, randomized

torch.manual_seed(11)
V, D, H, F, L, P, PAD, BUCKETS = 40, 16, 2, 32, 2, 24, 1, 32


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.num_attention_heads, self.attention_head_size = H, D // H
        self.q, self.k, self.v, self.o = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)

    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        return x.view(*new_x_shape).permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask, position_bias):
        q = self.transpose_for_scores(self.q(hidden_states))
        k = self.transpose_for_scores(self.k(hidden_states))
        v = self.transpose_for_scores(self.v(hidden_states))
        attention_scores = torch.matmul(q, k.transpose(-1, -2))
        attention_scores = attention_scores / math.sqrt(self.attention_head_size)
        attention_scores += position_bias
        attention_scores = attention_scores + attention_mask
        attention_probs = nn.functional.softmax(attention_scores, dim=-1)
        c = torch.matmul(attention_probs, v).permute(0, 2, 1, 3).contiguous()
        c = c.view(*c.size()[:-2] + (D,))
        return self.o(c)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = nn.Module()
        self.attention.attn, self.attention.LayerNorm = SelfAttention(), nn.LayerNorm(D, eps=1e-12)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(D, F)
        self.output = nn.Module()
        self.output.dense, self.output.LayerNorm = nn.Linear(F, D), nn.LayerNorm(D, eps=1e-12)

    def forward(self, x, mask, position_bias):
        a = self.attention.LayerNorm(self.attention.attn(x, mask, position_bias) + x)
        i = nn.functional.gelu(self.intermediate.dense(a))
        return self.output.LayerNorm(self.output.dense(i) + a)


def relative_position_bucket(relative_position, num_buckets=32, max_distance=128):
    ret = 0
    n = -relative_position
    num_buckets //= 2
    ret += (n < 0).to(torch.long) * num_buckets
    n = torch.abs(n)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    val_if_large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)).to(torch.long)
    val_if_large = torch.min(val_if_large, torch.full_like(val_if_large, num_buckets - 1))
    ret += torch.where(is_small, n, val_if_large)
    return ret


class MPNetModel(nn.Module):
    def __init__(self):
        super().__init__()
        e = nn.Module()
        e.word_embeddings = nn.Embedding(V, D, padding_idx=PAD)
        e.position_embeddings = nn.Embedding(P + PAD + 1, D, padding_idx=PAD)
        e.LayerNorm = nn.LayerNorm(D, eps=1e-12)
        self.embeddings = e
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([Layer() for _ in range(L)])
        self.encoder.relative_attention_bias = nn.Embedding(BUCKETS, H)
        self.pooler = nn.Module()
        self.pooler.dense = nn.Linear(D, D)

    def compute_position_bias(self, x):
        bsz, qlen, klen = x.size(0), x.size(1), x.size(1)
        context_position = torch.arange(qlen, dtype=torch.long)[:, None]
        memory_position = torch.arange(klen, dtype=torch.long)[None, :]
        relative_position = memory_position - context_position
        rp_bucket = relative_position_bucket(relative_position, num_buckets=BUCKETS)
        values = self.encoder.relative_attention_bias(rp_bucket)
        values = values.permute([2, 0, 1]).unsqueeze(0)
        return values.expand((bsz, -1, qlen, klen)).contiguous()

    def forward(self, input_ids, attention_mask):
        e = self.embeddings
        m = input_ids.ne(PAD).int()
        position_ids = (torch.cumsum(m, dim=1).type_as(m) * m).long() + PAD
        x = e.LayerNorm(e.word_embeddings(input_ids) + e.position_embeddings(position_ids))
        extended = attention_mask[:, None, None, :].to(dtype=x.dtype)
        extended = (1.0 - extended) * torch.finfo(x.dtype).min
        position_bias = self.compute_position_bias(x)
        for layer in self.encoder.layer:
            x = layer(x, extended, position_bias)
        return x  # sentence-transformers export last_hidden_state only


ids = torch.tensor([[0, 8, 9, 12, 10, 2, 1, 1], [0, 15, 20, 7, 13, 11, 19, 2]])
export(randomized(MPNetModel()), (ids, (ids != PAD).long()), ["input_ids", "attention_mask"], "small-mpnet.onnx")
