#!/usr/bin/env python3
"""PyTorch reads a Hugging Face folder that `mlnet-transformers export-hf` (PretrainedEncoder.SaveHuggingFaceFolder)
wrote, by Hugging Face's names alone, and embeds texts as sentence-transformers would: BertModel (post-norm, erf GELU,
the config's epsilon) over the folder's config.json and model.safetensors, the pooling of 1_Pooling/config.json, unit
length when modules.json has Normalize. Prints one JSON line per text, as `mlnet-transformers embed` does, so the two can
be compared (the transformers package is not installable here; tokenization is ../shared/peers/torch_bert.py's
WordPiece, the uncased BERT rules).

usage: /usr/bin/python3 read_hf_folder.py FOLDER TEXTS.txt [--peers ../shared/peers]
"""
import argparse, json, math, os, struct, sys

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("folder")
ap.add_argument("texts")
ap.add_argument("--peers", default=os.path.join("..", "shared", "peers"))
a = ap.parse_args()
sys.path.insert(0, a.peers)
import torch_bert  # noqa: E402


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__": continue
        assert t["dtype"] == "F32", t["dtype"]
        b, e = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[8 + n + b:8 + n + e]), dtype=torch.float32).reshape(t["shape"])
    return out


c = json.load(open(os.path.join(a.folder, "config.json")))
assert c["model_type"] == "bert" and c["hidden_act"] == "gelu", "this reference reads BERT folders"
w = read_safetensors(os.path.join(a.folder, "model.safetensors"))
modules = json.load(open(os.path.join(a.folder, "modules.json")))
pooling = json.load(open(os.path.join(a.folder, "1_Pooling", "config.json")))
normalize = any(m["type"].endswith("Normalize") for m in modules)
max_len = json.load(open(os.path.join(a.folder, "sentence_bert_config.json")))["max_seq_length"]
D, H, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]


def ln(x, p): return F.layer_norm(x, (D,), w[p + ".weight"], w[p + ".bias"], eps)
def lin(x, p): return F.linear(x, w[p + ".weight"], w[p + ".bias"])


def bert(ids, mask):  # BertModel.forward, eval mode, by Hugging Face's tensor names
    B, T = ids.shape
    e = "embeddings."
    x = ln(w[e + "word_embeddings.weight"][ids] + w[e + "position_embeddings.weight"][:T] + w[e + "token_type_embeddings.weight"][0], e + "LayerNorm")
    bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    hd = D // H
    for i in range(c["num_hidden_layers"]):
        l = f"encoder.layer.{i}."
        q, k, v = (lin(x, l + "attention.self." + n).view(B, T, H, hd).transpose(1, 2) for n in ("query", "key", "value"))
        ctx = (torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, -1) @ v).transpose(1, 2).reshape(B, T, D)
        x = ln(x + lin(ctx, l + "attention.output.dense"), l + "attention.output.LayerNorm")
        x = ln(x + lin(F.gelu(lin(x, l + "intermediate.dense")), l + "output.dense"), l + "output.LayerNorm")
    return x


tok = torch_bert.WordPiece(os.path.join(a.folder, "vocab.txt"))
with torch.no_grad():
    for text in (l.rstrip("\n") for l in open(a.texts, encoding="utf-8")):
        ids = torch.tensor([tok.encode(text, max_len)])
        mask = torch.ones_like(ids)
        h = bert(ids, mask)
        v = h[0, 0] if pooling["pooling_mode_cls_token"] else h[0].mean(0)
        if normalize: v = v / v.norm().clamp_min(1e-12)
        print(json.dumps({"text": text, "embedding": [round(float(x), 6) for x in v]}))
