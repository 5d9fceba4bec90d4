"""Writes small-albert.onnx: a small random ALBERT encoder (embeddings 8 wide projected to 16 by
embedding_hidden_mapping_in, 3 layers that all run one group of weights, 2 heads, FFN 32, 24 positions, vocabulary 90,
gelu_new) exported by PyTorch's ONNX exporter from a module that follows Hugging Face's modeling_albert.py (its
parameter names, AlbertTransformer's group of layer i, AlbertAttention's dense + LayerNorm, ffn / ffn_output /
full_layer_layer_norm, the pooler as one Linear): inputs input_ids / attention_mask / token_type_ids, output
last_hidden_state, opset 13. One set of weights serves three layers, so the graph uses each of its initializers three
times. Needs Debian's python3-torch and python3-onnx (../shared/peers/install.sh):
    /usr/bin/python3 make_small_albert_onnx.py"""
import math
import torch
import torch.nn as nn
from make_small_bert_onnx import export, randomized

torch.manual_seed(23)
V, E, D, H, F, L, P = 90, 8, 16, 2, 32, 3, 24  # V: the pieces of the ALBERT tokenizer fixture (albert-tokenizer/spiece.model)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class AlbertAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.num_attention_heads, self.attention_head_size = H, D // H
        self.query, self.key, self.value = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        self.dense, self.LayerNorm = nn.Linear(D, D), nn.LayerNorm(D, eps=1e-12)

    def transpose_for_scores(self, x):
        return x.view(x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)).permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask):
        query_layer = self.transpose_for_scores(self.query(hidden_states))
        key_layer = self.transpose_for_scores(self.key(hidden_states))
        value_layer = self.transpose_for_scores(self.value(hidden_states))
        attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        attention_probs = nn.functional.softmax(attention_scores + attention_mask, dim=-1)
        context_layer = torch.matmul(attention_probs, value_layer).transpose(2, 1).flatten(2)
        return self.LayerNorm(hidden_states + self.dense(context_layer))


class AlbertLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.full_layer_layer_norm = nn.LayerNorm(D, eps=1e-12)
        self.attention = AlbertAttention()
        self.ffn, self.ffn_output = nn.Linear(D, F), nn.Linear(F, D)

    def forward(self, hidden_states, attention_mask):
        attention_output = self.attention(hidden_states, attention_mask)
        ffn_output = self.ffn_output(gelu_new(self.ffn(attention_output)))
        return self.full_layer_layer_norm(ffn_output + attention_output)


class AlbertModel(nn.Module):
    def __init__(self):
        super().__init__()
        e = nn.Module()
        e.word_embeddings = nn.Embedding(V, E, padding_idx=0)
        e.position_embeddings, e.token_type_embeddings = nn.Embedding(P, E), nn.Embedding(2, E)
        e.LayerNorm = nn.LayerNorm(E, eps=1e-12)
        e.register_buffer("position_ids", torch.arange(P).expand((1, -1)))
        self.embeddings = e
        self.encoder = nn.Module()
        self.encoder.embedding_hidden_mapping_in = nn.Linear(E, D)
        group = nn.Module()
        group.albert_layers = nn.ModuleList([AlbertLayer()])
        self.encoder.albert_layer_groups = nn.ModuleList([group])
        self.pooler = nn.Linear(D, D)

    def forward(self, input_ids, attention_mask, token_type_ids):
        e = self.embeddings
        position_ids = e.position_ids[:, :input_ids.size(1)]
        x = e.LayerNorm(e.word_embeddings(input_ids) + e.position_embeddings(position_ids) + e.token_type_embeddings(token_type_ids))
        extended = attention_mask[:, None, None, :].to(dtype=x.dtype)
        extended = (1.0 - extended) * torch.finfo(x.dtype).min
        x = self.encoder.embedding_hidden_mapping_in(x)
        for i in range(L):
            group_idx = int(i / (L / len(self.encoder.albert_layer_groups)))
            for layer in self.encoder.albert_layer_groups[group_idx].albert_layers:
                x = layer(x, extended)
        return x


ids = torch.tensor([[2, 8, 9, 12, 10, 3, 0, 0], [2, 15, 20, 7, 13, 11, 19, 3]])
types = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]])
export(randomized(AlbertModel()), (ids, (ids != 0).long(), types), ["input_ids", "attention_mask", "token_type_ids"], "small-albert.onnx")
