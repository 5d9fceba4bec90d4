"""Writes small-deberta.onnx: a small random DeBERTa-v3-shaped encoder (2 layers, d 16, 2 heads, FFN 32, vocabulary 101,
no absolute positions, no token types; disentangled attention with 6 position buckets out to 12) exported by PyTorch's
ONNX exporter from a module that follows Hugging Face's modeling_deberta_v2.py (its parameter names, DebertaV2Embeddings
with the mask, transpose_for_scores, make_log_bucket_position, disentangled_attention_bias with share_att_key and
c2p|p2c, XSoftmax's masking, erf GELU): inputs input_ids / attention_mask, output last_hidden_state, opset 13.
Needs Debian's python3-torch and python3-onnx (../shared/peers/install.sh):
    /usr/bin/python3 make_small_deberta_onnx.py"""
import math
import torch
import torch.nn as nn
from make_small_bert_onnx import export, randomized

torch.manual_seed(29)
V, D, H, F, L, SPAN, MAXREL = 101, 16, 2, 32, 2, 6, 12


def make_log_bucket_position(relative_pos, bucket_size, max_position):
    sign = torch.sign(relative_pos)
    mid = bucket_size // 2
    abs_pos = torch.where((relative_pos < mid) & (relative_pos > -mid), torch.tensor(mid - 1).type_as(relative_pos), torch.abs(relative_pos))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, relative_pos.type_as(log_pos), log_pos * sign)


def build_relative_position(query_size, key_size, bucket_size, max_position):
    q_ids = torch.arange(0, query_size)
    k_ids = torch.arange(0, key_size)
    rel_pos_ids = q_ids[:, None] - k_ids[None, :]
    rel_pos_ids = make_log_bucket_position(rel_pos_ids, bucket_size, max_position).to(torch.long)
    return rel_pos_ids[:query_size, :].unsqueeze(0)


class DisentangledSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.num_attention_heads = H
        self.query_proj, self.key_proj, self.value_proj = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)

    def transpose_for_scores(self, x, attention_heads):
        new_x_shape = x.size()[:-1] + (attention_heads, -1)
        x = x.view(new_x_shape)
        return x.permute(0, 2, 1, 3).contiguous().view(-1, x.size(1), x.size(-1))

    def forward(self, hidden_states, attention_mask, relative_pos, rel_embeddings):
        query_layer = self.transpose_for_scores(self.query_proj(hidden_states), H)
        key_layer = self.transpose_for_scores(self.key_proj(hidden_states), H)
        value_layer = self.transpose_for_scores(self.value_proj(hidden_states), H)
        scale_factor = 3
        scale = torch.sqrt(torch.tensor(query_layer.size(-1), dtype=torch.float) * scale_factor)
        attention_scores = torch.bmm(query_layer, key_layer.transpose(-1, -2)) / scale.to(dtype=query_layer.dtype)
        attention_scores = attention_scores + self.disentangled_attention_bias(query_layer, key_layer, relative_pos, rel_embeddings, scale_factor)
        attention_scores = attention_scores.view(-1, H, attention_scores.size(-2), attention_scores.size(-1))
        rmask = ~(attention_mask.to(torch.bool))
        probs = torch.softmax(attention_scores.masked_fill(rmask, torch.tensor(torch.finfo(attention_scores.dtype).min)), -1).masked_fill(rmask, 0)
        context_layer = torch.bmm(probs.view(-1, probs.size(-2), probs.size(-1)), value_layer)
        context_layer = context_layer.view(-1, H, context_layer.size(-2), context_layer.size(-1)).permute(0, 2, 1, 3).contiguous()
        return context_layer.view(context_layer.size()[:-2] + (-1,))

    def disentangled_attention_bias(self, query_layer, key_layer, relative_pos, rel_embeddings, scale_factor):
        relative_pos = relative_pos.unsqueeze(1)
        att_span = SPAN
        rel_embeddings = rel_embeddings[0: att_span * 2, :].unsqueeze(0)
        pos_query_layer = self.transpose_for_scores(self.query_proj(rel_embeddings), H).repeat(query_layer.size(0) // H, 1, 1)
        pos_key_layer = self.transpose_for_scores(self.key_proj(rel_embeddings), H).repeat(query_layer.size(0) // H, 1, 1)
        scale = torch.sqrt(torch.tensor(pos_key_layer.size(-1), dtype=torch.float) * scale_factor)
        c2p_att = torch.bmm(query_layer, pos_key_layer.transpose(-1, -2))
        c2p_pos = torch.clamp(relative_pos + att_span, 0, att_span * 2 - 1)
        c2p_att = torch.gather(c2p_att, dim=-1, index=c2p_pos.squeeze(0).expand([query_layer.size(0), query_layer.size(1), relative_pos.size(-1)]))
        score = c2p_att / scale.to(dtype=c2p_att.dtype)
        p2c_pos = torch.clamp(-relative_pos + att_span, 0, att_span * 2 - 1)
        p2c_att = torch.bmm(key_layer, pos_query_layer.transpose(-1, -2))
        p2c_att = torch.gather(p2c_att, dim=-1, index=p2c_pos.squeeze(0).expand([query_layer.size(0), key_layer.size(-2), key_layer.size(-2)])).transpose(-1, -2)
        return score + p2c_att / scale.to(dtype=p2c_att.dtype)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = nn.Module()
        self.attention.self = DisentangledSelfAttention()
        self.attention.output = nn.Module()
        self.attention.output.dense, self.attention.output.LayerNorm = nn.Linear(D, D), nn.LayerNorm(D, eps=1e-7)
        self.intermediate = nn.Module(); self.intermediate.dense = nn.Linear(D, F)
        self.output = nn.Module(); self.output.dense, self.output.LayerNorm = nn.Linear(F, D), nn.LayerNorm(D, eps=1e-7)

    def forward(self, x, mask, relative_pos, rel_embeddings):
        a = self.attention.output.LayerNorm(self.attention.output.dense(self.attention.self(x, mask, relative_pos, rel_embeddings)) + x)
        return self.output.LayerNorm(self.output.dense(nn.functional.gelu(self.intermediate.dense(a))) + a)


class DebertaV2Model(nn.Module):
    def __init__(self):
        super().__init__()
        e = nn.Module()
        e.word_embeddings, e.LayerNorm = nn.Embedding(V, D, padding_idx=0), nn.LayerNorm(D, eps=1e-7)
        self.embeddings = e
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([Layer() for _ in range(L)])
        self.encoder.rel_embeddings = nn.Embedding(2 * SPAN, D)
        self.encoder.LayerNorm = nn.LayerNorm(D, eps=1e-7)

    def forward(self, input_ids, attention_mask):
        e = self.embeddings
        x = e.LayerNorm(e.word_embeddings(input_ids)) * attention_mask.unsqueeze(2).to(torch.float)
        extended = attention_mask.unsqueeze(1).unsqueeze(2)
        mask = (extended * extended.squeeze(-2).unsqueeze(-1)).byte()
        relative_pos = build_relative_position(input_ids.size(1), input_ids.size(1), SPAN, MAXREL)
        rel_embeddings = self.encoder.LayerNorm(self.encoder.rel_embeddings.weight)
        for layer in self.encoder.layer:
            x = layer(x, mask, relative_pos, rel_embeddings)
        return x


ids = torch.tensor([[1, 15, 14, 5, 22, 6, 8, 16, 18, 12, 31, 2], [1, 40, 41, 60, 2, 0, 0, 0, 0, 0, 0, 0]])
export(randomized(DebertaV2Model()), (ids, (ids != 0).long()), ["input_ids", "attention_mask"], "small-deberta.onnx")
