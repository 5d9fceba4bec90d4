"""Writes small-distilbert.onnx: a small random DistilBERT encoder (2 layers, d 16, 2 heads, FFN 32, 24 positions,
vocabulary 40) exported by PyTorch's ONNX exporter from a module that follows Hugging Face's modeling_distilbert.py
line by line (its parameter names, the query scaled before the product, masked_fill of padded keys, erf GELU, no token
types), as a DistilBERT classifier's encoder is exported: inputs input_ids / attention_mask, output last_hidden_state,
opset 13. Needs Debian's python3-torch and python3-onnx (../shared/peers/install.sh):
    /usr/bin/python3 make_small_distilbert_onnx.py"""
import math
import torch
import torch.nn as nn
from make_small_bert_onnx import export, randomized

torch.manual_seed(13)
V, D, H, F, L, P = 40, 16, 2, 32, 2, 24


class MultiHeadSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.n_heads, self.dim = H, D
        self.q_lin, self.k_lin, self.v_lin, self.out_lin = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)

    def forward(self, query, key, value, mask):
        bs, q_length, dim = query.size()
        k_length = key.size(1)
        dim_per_head = self.dim // self.n_heads
        mask_reshp = (bs, 1, 1, k_length)

        def shape(x):
            return x.view(bs, -1, self.n_heads, dim_per_head).transpose(1, 2)

        def unshape(x):
            return x.transpose(1, 2).contiguous().view(bs, -1, self.n_heads * dim_per_head)

        q = shape(self.q_lin(query))
        k = shape(self.k_lin(key))
        v = shape(self.v_lin(value))
        q = q / math.sqrt(dim_per_head)
        scores = torch.matmul(q, k.transpose(2, 3))
        mask = (mask == 0).view(mask_reshp).expand_as(scores)
        scores = scores.masked_fill(mask, torch.tensor(torch.finfo(scores.dtype).min))
        weights = nn.functional.softmax(scores, dim=-1)
        context = unshape(torch.matmul(weights, v))
        return self.out_lin(context)


class TransformerBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = MultiHeadSelfAttention()
        self.sa_layer_norm = nn.LayerNorm(D, eps=1e-12)
        self.ffn = nn.Module()
        self.ffn.lin1, self.ffn.lin2 = nn.Linear(D, F), nn.Linear(F, D)
        self.output_layer_norm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, x, attn_mask):
        sa_output = self.sa_layer_norm(self.attention(x, x, x, attn_mask) + x)
        ffn_output = self.ffn.lin2(nn.functional.gelu(self.ffn.lin1(sa_output)))
        return self.output_layer_norm(ffn_output + sa_output)


class DistilBertModel(nn.Module):
    def __init__(self):
        super().__init__()
        e = nn.Module()
        e.word_embeddings, e.position_embeddings = nn.Embedding(V, D, padding_idx=0), nn.Embedding(P, D)
        e.LayerNorm = nn.LayerNorm(D, eps=1e-12)
        e.register_buffer("position_ids", torch.arange(P).expand((1, -1)))
        self.embeddings = e
        self.transformer = nn.Module()
        self.transformer.layer = nn.ModuleList([TransformerBlock() for _ in range(L)])

    def forward(self, input_ids, attention_mask):
        e = self.embeddings
        seq_length = input_ids.size(1)
        position_ids = e.position_ids[:, :seq_length]
        x = e.LayerNorm(e.word_embeddings(input_ids) + e.position_embeddings(position_ids))
        for layer in self.transformer.layer:
            x = layer(x, attention_mask)
        return x


ids = torch.tensor([[101 % V, 8, 9, 12, 10, 3, 0, 0], [2, 15, 20, 7, 13, 11, 19, 3]])
export(randomized(DistilBertModel()), (ids, (ids != 0).long()), ["input_ids", "attention_mask"], "small-distilbert.onnx")
