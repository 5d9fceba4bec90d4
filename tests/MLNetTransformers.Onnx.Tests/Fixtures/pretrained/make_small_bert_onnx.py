"""Writes small-bert.onnx: a small random BERT encoder (2 layers, d 16, 2 heads, FFN 32, 24 positions, vocabulary 40)
exported by PyTorch's ONNX exporter from a module that follows Hugging Face's modeling_bert.py line by line (its
parameter names, its extended attention mask, its transpose_for_scores, erf GELU, the pooler), as sentence-transformers
export their models: inputs input_ids / attention_mask / token_type_ids, output last_hidden_state, opset 13. The
exporter renames the transposed MatMul weights, so the reader has to match them by the graph's structure, as with
all-MiniLM-L6-v2. Tests compare the engine with ONNX Runtime on this graph and fuzz the reader with mutations of it.
The same module with modeling_roberta.py's embeddings (create_position_ids_from_input_ids after padding_idx 1, one
token type; inputs input_ids / attention_mask) writes small-roberta.onnx, and with modeling_electra.py's (embeddings 8
wide, embeddings_project to 16, no pooler) small-electra.onnx.
Needs Debian's python3-torch and python3-onnx (../shared/peers/install.sh):
    /usr/bin/python3 make_small_bert_onnx.py"""
import math
import torch
import torch.nn as nn

torch.manual_seed(7)
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
    # kind "bert"; "roberta": positions counted from the ids after padding_idx 1, one token type; "electra": embeddings
    # of width E projected to D, no pooler.
    def __init__(self, kind="bert", E=D):
        super().__init__()
        self.kind = kind
        pad = 1 if kind == "roberta" else 0
        e = nn.Module()
        e.word_embeddings = nn.Embedding(V, E, padding_idx=pad)
        e.position_embeddings = nn.Embedding(P + 2, E, padding_idx=1) if kind == "roberta" else nn.Embedding(P, E)
        e.token_type_embeddings, e.LayerNorm = nn.Embedding(1 if kind == "roberta" else 2, E), nn.LayerNorm(E, eps=1e-12)
        e.register_buffer("position_ids", torch.arange(P).expand((1, -1)))
        self.embeddings = e
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([Layer() for _ in range(L)])
        if kind == "electra":
            self.embeddings_project = nn.Linear(E, D)
        else:
            self.pooler = nn.Module()
            self.pooler.dense = nn.Linear(D, D)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        e = self.embeddings
        if self.kind == "roberta":  # create_position_ids_from_input_ids
            m = input_ids.ne(1).int()
            position_ids = (torch.cumsum(m, dim=1).type_as(m) * m).long() + 1
            token_type_ids = torch.zeros_like(input_ids)
        else:
            position_ids = e.position_ids[:, :input_ids.size(1)]
        x = e.LayerNorm(e.word_embeddings(input_ids) + e.token_type_embeddings(token_type_ids) + e.position_embeddings(position_ids))
        if self.kind == "electra":
            x = self.embeddings_project(x)
        extended = attention_mask[:, None, None, :].to(dtype=x.dtype)
        extended = (1.0 - extended) * torch.finfo(x.dtype).min
        for layer in self.encoder.layer:
            x = layer(x, extended)
        return x  # sentence-transformers export last_hidden_state only (the pooler's weights stay in the graph's initializers)


def randomized(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    return model.eval()


def export(model, inputs, names, path):
    torch.onnx.export(model, inputs, path, input_names=names, output_names=["last_hidden_state"], opset_version=13, do_constant_folding=True,
                      dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]})


def main():
    model = randomized(BertModel())
    ids = torch.tensor([[2, 8, 9, 12, 10, 3, 0, 0], [2, 15, 20, 7, 13, 11, 19, 3]])
    mask = (ids != 0).long()
    types = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]])
    export(model, (ids, mask, types), ["input_ids", "attention_mask", "token_type_ids"], "small-bert.onnx")

    torch.manual_seed(17)
    roberta_ids = torch.tensor([[0, 8, 9, 12, 10, 2, 1, 1], [0, 15, 20, 7, 13, 11, 19, 2]])
    export(randomized(BertModel("roberta")), (roberta_ids, (roberta_ids != 1).long()), ["input_ids", "attention_mask"], "small-roberta.onnx")
    torch.manual_seed(19)
    export(randomized(BertModel("electra", E=8)), (ids, mask, types), ["input_ids", "attention_mask", "token_type_ids"], "small-electra.onnx")


if __name__ == "__main__":
    main()
