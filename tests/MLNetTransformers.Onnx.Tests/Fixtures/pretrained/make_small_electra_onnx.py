"""Writes small-electra.onnx: a small random ELECTRA discriminator (embeddings 8 wide projected to d 16 by
embeddings_project, 2 layers, 2 heads, FFN 32, 24 positions, vocabulary 40) exported by PyTorch's ONNX exporter from
the module of make_small_bert_onnx.py with modeling_electra.py's embeddings and projection and no pooler: inputs
input_ids / attention_mask / token_type_ids, output last_hidden_state, opset 13.
Needs Debian's python3-torch and python3-onnx (../shared/peers/install.sh):
    /usr/bin/python3 make_small_electra_onnx.py"""
import math
import torch
import torch.nn as nn

torch.manual_seed(19)
E = 8
V, D, H, F, L, P = 40, 16, 2, 32, 2, 24


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.num_attention_heads, self.attention_head_size = H, D // H
        self.query, self.key, self.value = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)

    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        return x.view(new_x_shape).permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask):
        query_layer = self.transpose_for_scores(self.query(hidden_states))
        key_layer = self.transpose_for_scores(self.key(hidden_states))
        value_layer = self.transpose_for_scores(self.value(hidden_states))
        attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
        attention_scores = attention_scores / math.sqrt(self.attention_head_size)
        attention_scores = attention_scores + attention_mask
        attention_probs = nn.functional.softmax(attention_scores, dim=-1)
        context_layer = torch.matmul(attention_probs, value_layer).permute(0, 2, 1, 3).contiguous()
        return context_layer.view(context_layer.size()[:-2] + (D,))


class Output(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.dense, self.LayerNorm = nn.Linear(inner, D), nn.LayerNorm(D, eps=1e-12)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dense(hidden_states) + input_tensor)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = nn.Module()
        self.attention.self, self.attention.output = SelfAttention(), Output(D)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(D, F)
        self.output = Output(F)

    def forward(self, x, mask):
        a = self.attention.output(self.attention.self(x, mask), x)
        i = nn.functional.gelu(self.intermediate.dense(a))  # erf GELU, as hidden_act "gelu"
        return self.output(i, a)


class BertModel(nn.Module):
    def __init__(self):
        super().__init__()
        e = nn.Module()
        e.word_embeddings, e.position_embeddings = nn.Embedding(V, E, padding_idx=0), nn.Embedding(P, E)
        e.token_type_embeddings, e.LayerNorm = nn.Embedding(2, E), nn.LayerNorm(E, eps=1e-12)
        e.register_buffer("position_ids", torch.arange(P).expand((1, -1)))
        self.embeddings = e
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([Layer() for _ in range(L)])
        self.embeddings_project = nn.Linear(E, D)

    def forward(self, input_ids, attention_mask, token_type_ids):
        e = self.embeddings
        seq_length = input_ids.size(1)
        position_ids = e.position_ids[:, :seq_length]
        x = e.LayerNorm(e.word_embeddings(input_ids) + e.token_type_embeddings(token_type_ids) + e.position_embeddings(position_ids))
        x = self.embeddings_project(x)
        extended = attention_mask[:, None, None, :].to(dtype=x.dtype)
        extended = (1.0 - extended) * torch.finfo(x.dtype).min
        for layer in self.encoder.layer:
            x = layer(x, extended)
        return x


model = BertModel().eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if "LayerNorm" in name:
            p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * torch.randn_like(p))
        else:
            p.copy_(0.3 * torch.randn_like(p))
ids = torch.tensor([[2, 8, 9, 12, 10, 3, 0, 0], [2, 15, 20, 7, 13, 11, 19, 3]])
mask = (ids != 0).long()
types = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]])
torch.onnx.export(model, (ids, mask, types), "small-electra.onnx", input_names=["input_ids", "attention_mask", "token_type_ids"],
                  output_names=["last_hidden_state"], opset_version=13, do_constant_folding=True,
                  dynamic_axes={n: {0: "batch", 1: "sequence"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]})
