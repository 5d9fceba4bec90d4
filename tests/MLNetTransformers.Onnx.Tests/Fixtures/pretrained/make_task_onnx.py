"""Writes Fixtures/tasks/<name>/: Hugging Face task models exported to ONNX by PyTorch's exporter as optimum and
transformers.js lay them out: onnx/model.onnx beside nothing but config.json and the tokenizer's files (no weights).
The weights are those of the Core tests' task folders (../../../MLNetTransformers.Core.Tests/Fixtures/pretrained/<name>,
written by make_pretrained.py), read from their model.safetensors into modules that follow modeling_bert.py,
modeling_roberta.py and modeling_distilbert.py with Hugging Face's parameter names under the task model's prefix
(bert., roberta., distilbert.) and the heads' own names:
  bert-classifier       BertForSequenceClassification: the pooler (dense + tanh on [CLS]), classifier; output logits [B, 3]
  roberta-classifier    RobertaForSequenceClassification: classifier.dense + tanh on <s>, classifier.out_proj; logits [B, 2]
  distilbert-classifier DistilBertForSequenceClassification: pre_classifier + ReLU on [CLS], classifier; logits [B, 2]
  bert-token-classifier BertForTokenClassification: classifier at every position; logits [B, T, 5]
  bert-qa, roberta-qa   *ForQuestionAnswering: qa_outputs [2, d] at every position; start_logits, end_logits [B, T]
Inputs input_ids, attention_mask (and token_type_ids where the model has token types), batch and sequence dynamic, opset
14. expected.json: PyTorch's outputs (float32, eval mode) on a padded batch, which the engine must give once it has read
the graph. Needs Debian's python3-torch and python3-onnx (../shared/peers/install.sh):
    /usr/bin/python3 make_task_onnx.py"""
import json
import math
import os
import shutil
import struct
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "..", "..", "MLNetTransformers.Core.Tests", "Fixtures", "pretrained")
OUT = os.path.join(HERE, "..", "tasks")


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", (name, h["dtype"])
        a, b = h["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[8 + n + a:8 + n + b]), dtype=torch.float32).reshape(h["shape"]).clone()
    return tensors


class Encoder(nn.Module):
    """BertModel / RobertaModel (positions from the ids after padding_idx) / DistilBertModel, Hugging Face's names."""
    def __init__(self, kind, c):
        super().__init__()
        self.kind, D, self.H = kind, c["hidden_size"], c["num_attention_heads"]
        e = nn.Module()
        e.word_embeddings = nn.Embedding(c["vocab_size"], D)
        e.position_embeddings = nn.Embedding(c["max_position_embeddings"], D)
        if kind != "distilbert":
            e.token_type_embeddings = nn.Embedding(c["type_vocab_size"], D)
        e.LayerNorm = nn.LayerNorm(D, eps=c.get("layer_norm_eps", 1e-12))
        self.embeddings = e
        layers = nn.ModuleList()
        for _ in range(c["num_hidden_layers"]):
            l = nn.Module()
            if kind == "distilbert":
                l.attention = nn.Module()
                for n in ("q_lin", "k_lin", "v_lin", "out_lin"):
                    setattr(l.attention, n, nn.Linear(D, D))
                l.sa_layer_norm = nn.LayerNorm(D, eps=1e-12)
                l.ffn = nn.Module(); l.ffn.lin1 = nn.Linear(D, c["intermediate_size"]); l.ffn.lin2 = nn.Linear(c["intermediate_size"], D)
                l.output_layer_norm = nn.LayerNorm(D, eps=1e-12)
            else:
                l.attention = nn.Module(); l.attention.self = nn.Module(); l.attention.output = nn.Module()
                for n in ("query", "key", "value"):
                    setattr(l.attention.self, n, nn.Linear(D, D))
                l.attention.output.dense = nn.Linear(D, D); l.attention.output.LayerNorm = nn.LayerNorm(D, eps=c["layer_norm_eps"])
                l.intermediate = nn.Module(); l.intermediate.dense = nn.Linear(D, c["intermediate_size"])
                l.output = nn.Module(); l.output.dense = nn.Linear(c["intermediate_size"], D); l.output.LayerNorm = nn.LayerNorm(D, eps=c["layer_norm_eps"])
            layers.append(l)
        if kind == "distilbert":
            self.transformer = nn.Module(); self.transformer.layer = layers
        else:
            self.encoder = nn.Module(); self.encoder.layer = layers

    def forward(self, ids, mask, types):
        B, T = ids.shape
        e, D = self.embeddings, self.embeddings.word_embeddings.weight.shape[1]
        if self.kind == "roberta":  # create_position_ids_from_input_ids, padding_idx 1
            m = ids.ne(1).int()
            pos = (torch.cumsum(m, dim=1).type_as(m) * m).long() + 1
        else:
            pos = torch.arange(T).unsqueeze(0).expand(B, T)
        x = e.word_embeddings(ids) + e.position_embeddings(pos)
        if self.kind != "distilbert":
            x = x + e.token_type_embeddings(types)
        x = e.LayerNorm(x)
        hd = D // self.H
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for l in (self.transformer.layer if self.kind == "distilbert" else self.encoder.layer):
            if self.kind == "distilbert":
                a = l.attention
                q, k, v = (m(x).view(B, T, self.H, hd).transpose(1, 2) for m in (a.q_lin, a.k_lin, a.v_lin))
                s = (q / math.sqrt(hd)) @ k.transpose(-1, -2)
                s = s.masked_fill((mask == 0).view(B, 1, 1, T).expand_as(s), torch.tensor(torch.finfo(s.dtype).min))
                ctx = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, D)
                x = l.sa_layer_norm(a.out_lin(ctx) + x)
                x = l.output_layer_norm(l.ffn.lin2(nn.functional.gelu(l.ffn.lin1(x))) + x)
            else:
                s_ = l.attention.self
                q, k, v = (m(x).view(B, T, self.H, hd).permute(0, 2, 1, 3) for m in (s_.query, s_.key, s_.value))
                s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + bias
                ctx = torch.matmul(torch.softmax(s, -1), v).permute(0, 2, 1, 3).contiguous().view(B, T, D)
                x = l.attention.output.LayerNorm(l.attention.output.dense(ctx) + x)
                x = l.output.LayerNorm(l.output.dense(nn.functional.gelu(l.intermediate.dense(x))) + x)
        return x


class TaskModel(nn.Module):
    def __init__(self, kind, task, c, labels):
        super().__init__()
        self.kind, self.task = kind, task
        D = c["hidden_size"]
        setattr(self, kind, Encoder(kind, c))
        if task == "seq" and kind == "bert":
            self.bert.pooler = nn.Module(); self.bert.pooler.dense = nn.Linear(D, D)
            self.classifier = nn.Linear(D, labels)
        elif task == "seq" and kind == "roberta":
            self.classifier = nn.Module(); self.classifier.dense = nn.Linear(D, D); self.classifier.out_proj = nn.Linear(D, labels)
        elif task == "seq":
            self.pre_classifier = nn.Linear(D, D); self.classifier = nn.Linear(D, labels)
        elif task == "tokens":
            self.classifier = nn.Linear(D, labels)
        else:
            self.qa_outputs = nn.Linear(D, 2)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = getattr(self, self.kind)(input_ids, attention_mask, token_type_ids)
        if self.task == "tokens":
            return self.classifier(x)
        if self.task == "qa":
            start, end = self.qa_outputs(x).split(1, dim=-1)
            return start.squeeze(-1), end.squeeze(-1)
        first = x[:, 0]
        if self.kind == "bert":
            return self.classifier(torch.tanh(self.bert.pooler.dense(first)))
        if self.kind == "roberta":
            return self.classifier.out_proj(torch.tanh(self.classifier.dense(first)))
        return self.classifier(torch.relu(self.pre_classifier(first)))


def modern_name(name):  # the Core fixtures keep BERT's old LayerNorm names
    return name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")


def make(name, kind, task):
    src = os.path.join(SOURCE, name)
    config = json.load(open(os.path.join(src, "config.json")))
    shape = dict(config, hidden_size=config.get("dim"), num_hidden_layers=config.get("n_layers"), num_attention_heads=config.get("n_heads"),
                 intermediate_size=config.get("hidden_dim")) if kind == "distilbert" else config  # DistilBERT's own keys
    labels = len(config["id2label"]) if "id2label" in config else 2
    model = TaskModel(kind, task, shape, labels)
    state = {modern_name(k): v for k, v in read_safetensors(os.path.join(src, "model.safetensors")).items()}
    if kind == "roberta" and task == "seq":
        state = {k: v for k, v in state.items() if not k.startswith("roberta.pooler.")}
    model.load_state_dict(state, strict=True)
    model.eval()
    out = os.path.join(OUT, name)
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    for f in ("config.json", "vocab.txt", "vocab.json", "merges.txt"):
        if os.path.exists(os.path.join(src, f)):
            shutil.copyfile(os.path.join(src, f), os.path.join(out, f))
    pad, cls, sep = (1, 0, 2) if kind == "roberta" else (0, 2, 3)
    ids = torch.tensor([[cls, 8, 9, sep, 12, 10, 14, sep, pad, pad], [cls, 15, 20, 7, sep, 13, 11, 19, 30, sep], [cls, 5, sep, 16, sep, pad, pad, pad, pad, pad]])
    mask = (ids != pad).long()
    types = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]]) if kind == "bert" else torch.zeros_like(ids)
    inputs, names = (ids, mask), ["input_ids", "attention_mask"]
    if kind == "bert":
        inputs, names = inputs + (types,), names + ["token_type_ids"]
    outputs = ["start_logits", "end_logits"] if task == "qa" else ["logits"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes.update({o: {0: "batch"} if task == "seq" else {0: "batch", 1: "sequence"} for o in outputs})
    torch.onnx.export(model, inputs, os.path.join(out, "onnx", "model.onnx"), input_names=names, output_names=outputs, opset_version=14,
                      do_constant_folding=True, dynamic_axes=axes)
    with torch.no_grad():
        result = model(*inputs)
    result = result if isinstance(result, tuple) else (result,)
    expected = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist()}
    expected.update({o: [round(float(v), 7) for v in r.reshape(-1).tolist()] for o, r in zip(outputs, result)})
    json.dump(expected, open(os.path.join(out, "expected.json"), "w"))


torch.manual_seed(0)
for name, kind, task in (("bert-classifier", "bert", "seq"), ("roberta-classifier", "roberta", "seq"), ("distilbert-classifier", "distilbert", "seq"),
                         ("bert-token-classifier", "bert", "tokens"), ("bert-qa", "bert", "qa"), ("roberta-qa", "roberta", "qa")):
    make(name, kind, task)
