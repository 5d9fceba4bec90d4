"""Writes small random Hugging Face checkpoints of each encoder family the readers support (BERT, DistilBERT,
RoBERTa, ELECTRA, MPNet, ALBERT, DeBERTa-v2, ModernBERT, NomicBERT, JinaBERT, GTE, RoFormer and more) as model folders (config.json, model.safetensors, vocab.txt) plus expected.json: the PyTorch outputs of a
reference module that uses Hugging Face's exact parameter names, and the gradient of a fixed scalar loss with respect
to every parameter, so the engine's import can be checked for outputs and every gradient; and bert/finetune.json, four
fine-tuning steps of a classifier on the BERT checkpoint (each loss, every weight after), for the engine's training step. The transformers package is
not installable here; these modules follow modeling_bert.py, modeling_distilbert.py, modeling_roberta.py, modeling_electra.py, modeling_mpnet.py
and the other families' model files named at each (eval mode: dropout 0); the last four are also exported to ONNX (model.onnx). Needs Debian's python3-torch (../shared/peers/install.sh) and python3-regex:
    /usr/bin/python3 make_pretrained.py
Storage: bert F32 (with the "bert." prefix of a task checkpoint, old gamma/beta LayerNorm names in the embeddings, a
cls.* head and the position_ids buffer), distilbert F16, roberta BF16 (the reference computes with the stored,
rounded weights)."""
import collections, json, math, os, struct
import regex
import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)  # reference arithmetic in double; the engine runs float32
V, D, H, F, L, P = 40, 16, 2, 32, 2, 24
WORDS = ["the", "a", "film", "movie", "good", "bad", "not", "very", "plot", "cast", "is", "was", "and", "but", "it",
         "great", "dull", "fun", "story", "end", "##s", "##ing", "##ed", ".", ",", "!", "?", "i", "loved", "hated",
         "best", "worst", "ever", "so"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]"] + WORDS
assert len(VOCAB) == V


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


class Bert(nn.Module):
    """BertModel: embeddings (word + position + token type, LayerNorm), post-norm layers, pooler."""
    def __init__(self, roberta=False):
        super().__init__()
        self.roberta, self.pad = roberta, 1
        types = 1 if roberta else 2
        positions = P + 2 if roberta else P
        e = nn.Module()
        e.word_embeddings = nn.Embedding(V, D); e.position_embeddings = nn.Embedding(positions, D)
        e.token_type_embeddings = nn.Embedding(types, D); e.LayerNorm = nn.LayerNorm(D, eps=1e-12)
        self.embeddings = e
        self.encoder = nn.Module(); self.encoder.layer = nn.ModuleList()
        for _ in range(L):
            l = nn.Module(); l.attention = nn.Module(); l.attention.self = nn.Module(); l.attention.output = nn.Module()
            l.attention.self.query = nn.Linear(D, D); l.attention.self.key = nn.Linear(D, D); l.attention.self.value = nn.Linear(D, D)
            l.attention.output.dense = nn.Linear(D, D); l.attention.output.LayerNorm = nn.LayerNorm(D, eps=1e-12)
            l.intermediate = nn.Module(); l.intermediate.dense = nn.Linear(D, F)
            l.output = nn.Module(); l.output.dense = nn.Linear(F, D); l.output.LayerNorm = nn.LayerNorm(D, eps=1e-12)
            self.encoder.layer.append(l)
        self.pooler = nn.Module(); self.pooler.dense = nn.Linear(D, D)

    def forward(self, ids, mask, types):
        x = self.layers(self.embed(ids, mask, types), mask)
        return x, torch.tanh(self.pooler.dense(x[:, 0]))

    def embed(self, ids, mask, types):
        B, T = ids.shape
        if self.roberta:  # create_position_ids_from_input_ids: padding_idx + 1 + index for real tokens
            pos = (torch.cumsum(mask, 1) * mask) + self.pad
        else:
            pos = torch.arange(T).unsqueeze(0).expand(B, T)
        e = self.embeddings
        return e.LayerNorm(e.word_embeddings(ids) + e.position_embeddings(pos) + e.token_type_embeddings(types))

    def layers(self, x, mask):
        B, T, _ = x.shape
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        hd = D // H
        for l in self.encoder.layer:
            s = l.attention.self
            q, k, v = (m(x).view(B, T, H, hd).transpose(1, 2) for m in (s.query, s.key, s.value))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, -1)
            c = (a @ v).transpose(1, 2).reshape(B, T, D)
            x = l.attention.output.LayerNorm(x + l.attention.output.dense(c))
            x = l.output.LayerNorm(x + l.output.dense(gelu(l.intermediate.dense(x))))
        return x


class DistilBert(nn.Module):
    """DistilBertModel: embeddings (word + position, LayerNorm), post-norm layers, no token types, no pooler."""
    def __init__(self):
        super().__init__()
        e = nn.Module(); e.word_embeddings = nn.Embedding(V, D); e.position_embeddings = nn.Embedding(P, D); e.LayerNorm = nn.LayerNorm(D, eps=1e-12)
        self.embeddings = e
        self.transformer = nn.Module(); self.transformer.layer = nn.ModuleList()
        for _ in range(L):
            l = nn.Module(); l.attention = nn.Module()
            for n in ("q_lin", "k_lin", "v_lin", "out_lin"): setattr(l.attention, n, nn.Linear(D, D))
            l.sa_layer_norm = nn.LayerNorm(D, eps=1e-12)
            l.ffn = nn.Module(); l.ffn.lin1 = nn.Linear(D, F); l.ffn.lin2 = nn.Linear(F, D)
            l.output_layer_norm = nn.LayerNorm(D, eps=1e-12)
            self.transformer.layer.append(l)

    def forward(self, ids, mask, types):
        B, T = ids.shape
        e = self.embeddings
        x = e.LayerNorm(e.word_embeddings(ids) + e.position_embeddings(torch.arange(T)).unsqueeze(0))
        hd = D // H
        for l in self.transformer.layer:
            at = l.attention
            q, k, v = (m(x).view(B, T, H, hd).transpose(1, 2) for m in (at.q_lin, at.k_lin, at.v_lin))
            scores = (q / math.sqrt(hd)) @ k.transpose(-1, -2)
            scores = scores.masked_fill((mask == 0)[:, None, None, :], torch.finfo(scores.dtype).min)
            c = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, T, D)
            x = l.sa_layer_norm(at.out_lin(c) + x)
            x = l.output_layer_norm(l.ffn.lin2(gelu(l.ffn.lin1(x))) + x)
        return x, None


def randomize(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))


def round_to(model, dtype):
    with torch.no_grad():
        for p in model.parameters(): p.copy_(p.to(dtype).to(torch.float64))


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, (dtype, t) in tensors.items():
        if dtype == "F32": data = t.to(torch.float32).numpy().tobytes()
        elif dtype == "F16": data = t.to(torch.float16).numpy().tobytes()
        elif dtype == "BF16": data = t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        elif dtype == "I64": data = t.to(torch.int64).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data); offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)


def make(name, model, config, dtype, prefix="", rename=lambda n: n, extra=None, ids=None, pad=0, vocab=None, init=None):
    os.makedirs(name, exist_ok=True)
    (init or randomize)(model)
    round_to(model, {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype])
    if ids is None: ids = torch.tensor([[2, 8, 9, 12, 10, 3, 0, 0, 0], [2, 15, 20, 7, 13, 11, 19, 30, 3], [2, 5, 3, 0, 0, 0, 0, 0, 0]])
    mask = (ids != pad).long()
    types = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0]])
    if (isinstance(model, Bert) and model.roberta) or ids.shape != types.shape: types = torch.zeros_like(ids)
    hidden, pooled = model(ids, mask, types)
    R = torch.randn(hidden.shape) * mask.unsqueeze(-1)  # the loss reads real tokens only
    loss = (hidden * R).sum()
    Q = None
    if pooled is not None:
        Q = torch.randn(pooled.shape); loss = loss + (pooled * Q).sum()
    loss.backward()
    tensors = {}
    for n, p in model.named_parameters(): tensors[prefix + rename(n)] = (dtype, p.detach())
    for n, t in (extra or {}).items(): tensors[n] = t
    write_safetensors(os.path.join(name, "model.safetensors"), tensors, {"format": "pt"})
    json.dump(config, open(os.path.join(name, "config.json"), "w"), indent=2)
    open(os.path.join(name, "vocab.txt"), "w").write("\n".join(vocab or VOCAB) + "\n")
    r = lambda t: [round(float(v), 9) for v in t.reshape(-1).tolist()]
    expected = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(),
                "R": r(R), "last_hidden_state": r(hidden.detach()), "loss": float(loss),
                "grads": {n: r(p.grad) for n, p in model.named_parameters()}}
    if pooled is not None: expected["Q"] = r(Q); expected["pooler_output"] = r(pooled.detach())
    json.dump(expected, open(os.path.join(name, "expected.json"), "w"))



# A task model as PyTorch's exporter writes it for optimum and transformers.js (float32, opset 14, dynamic batch and
# length): the encoder under the task model's prefix and the head as nn.Linear and LayerNorm modules under Hugging Face's
# names (head: {name: tensor} as the folder stores it), so that initializer names and node scopes (/head/dense/MatMul) are
# a real export's; forward(encoder outputs, mask, module by name) gives the outputs. Written as <folder>/model.onnx beside
# the folder's config.json and weights, which the ONNX tests read it against.
def export_task_onnx(folder, prefix, model, head, forward, ids, pad, types=None, outputs=("logits",), per_token=False, eps=1e-5):
    import copy

    class Task(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module(prefix.rstrip("."), copy.deepcopy(model).float().eval())
            for name in sorted({k.rsplit(".", 1)[0] for k in head}):
                w, b = head[name + ".weight"].float(), head.get(name + ".bias")
                m = nn.Linear(w.shape[1], w.shape[0], bias=b is not None) if w.dim() == 2 else nn.LayerNorm(w.shape[0], eps=eps) if b is not None else WeightOnlyNorm(w.shape[0], eps)
                with torch.no_grad():
                    m.weight.copy_(w)
                    if b is not None: m.bias.copy_(b.float())
                parent, parts = self, name.split(".")
                for part in parts[:-1]:
                    if not hasattr(parent, part): parent.add_module(part, nn.Module())
                    parent = getattr(parent, part)
                parent.add_module(parts[-1], m)

        def forward(self, input_ids, attention_mask, *token_type_ids):
            encoded = getattr(self, prefix.rstrip("."))(input_ids, attention_mask, token_type_ids[0] if token_type_ids else torch.zeros_like(input_ids))
            return forward(encoded, attention_mask, self.get_submodule)

    inputs, names = (ids, (ids != pad).long()), ["input_ids", "attention_mask"]
    if types is not None: inputs, names = inputs + (types,), names + ["token_type_ids"]
    axes = {n0: {0: "batch", 1: "sequence"} for n0 in names}
    axes.update({o: {0: "batch", 1: "sequence"} if per_token else {0: "batch"} for o in outputs})
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)  # the modules' own tensors (masks, tables) as float32, as the exported weights
    try:
        torch.onnx.export(Task().eval(), inputs, os.path.join(folder, "model.onnx"), input_names=names, output_names=list(outputs), opset_version=14,
                          do_constant_folding=True, dynamic_axes=axes)
    finally:
        torch.set_default_dtype(default)


bert_config = {"model_type": "bert", "vocab_size": V, "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
               "intermediate_size": F, "hidden_act": "gelu", "max_position_embeddings": P, "type_vocab_size": 2,
               "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "architectures": ["BertForPreTraining"]}
old_names = lambda n: n.replace("embeddings.LayerNorm.weight", "embeddings.LayerNorm.gamma").replace("embeddings.LayerNorm.bias", "embeddings.LayerNorm.beta")
bert = Bert()  # kept for the fine-tuning trajectory at the end
make("bert", bert, bert_config, "F32", prefix="bert.", rename=old_names,
     extra={"cls.predictions.bias": ("F32", torch.zeros(V)), "bert.embeddings.position_ids": ("I64", torch.arange(P).unsqueeze(0))})
distilbert = DistilBert()  # kept for its sequence-classifier fixture
make("distilbert", distilbert, {"model_type": "distilbert", "vocab_size": V, "dim": D, "n_layers": L, "n_heads": H, "hidden_dim": F,
     "activation": "gelu", "max_position_embeddings": P, "dropout": 0.0, "attention_dropout": 0.0}, "F16")


# RoBERTa's tokenizer: GPT-2's byte-level BPE (vocab.json + merges.txt), special tokens from the vocabulary itself
# (<s> 0, <pad> 1, </s> 2, <unk> 3, <mask> last). The merges are learned here from a small corpus; the reference ids
# follow openai/gpt-2's encoder.py (bytes_to_unicode, the pre-tokenization pattern, rank-ordered merges).
PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
CORPUS = ("the film was great and the story was fun . i loved it , but the plot was dull and the end was bad . "
          "not a good movie ; the cast is very good and the best film ever ! it's the worst story i've seen . "
          "Café crème, naïve déjà vu: 12.5% of $3,456 — “quoted” text.") * 3


def words(text):
    return ["".join(B2U[b] for b in w.encode("utf-8")) for w in PAT.findall(text)]


def learn_merges(n):
    vocab = {}
    for w in words(CORPUS): vocab[tuple(w)] = vocab.get(tuple(w), 0) + 1
    merges = []
    for _ in range(n):
        pairs = {}
        for w, c in vocab.items():
            for a, b in zip(w, w[1:]): pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs: break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        new = {}
        for w, c in vocab.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best: out.append(w[i] + w[i + 1]); i += 2
                else: out.append(w[i]); i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        vocab = new
    return merges


def bpe(token, ranks):
    word = list(token)
    while len(word) > 1:
        pairs = [(ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(word, word[1:]))]
        rank, i = min(pairs)
        if rank == 1 << 30: break
        first, second = word[i], word[i + 1]
        out, j = [], 0
        while j < len(word):
            if j + 1 < len(word) and word[j] == first and word[j + 1] == second: out.append(first + second); j += 2
            else: out.append(word[j]); j += 1
        word = out
    return word


MERGES = learn_merges(200)
ROBERTA_VOCAB = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
for u in B2U.values(): ROBERTA_VOCAB.setdefault(u, len(ROBERTA_VOCAB))
for a, b in MERGES: ROBERTA_VOCAB.setdefault(a + b, len(ROBERTA_VOCAB))
ROBERTA_VOCAB["<mask>"] = len(ROBERTA_VOCAB)
RANKS = {m: i for i, m in enumerate(MERGES)}
V = len(ROBERTA_VOCAB)
roberta = Bert(roberta=True)  # kept for its sequence-classifier fixture
make("roberta", roberta, dict(bert_config, model_type="roberta", vocab_size=V, max_position_embeddings=P + 2, type_vocab_size=1, pad_token_id=1,
     architectures=["RobertaModel"]), "BF16")
json.dump(ROBERTA_VOCAB, open("roberta/vocab.json", "w", encoding="utf-8"), ensure_ascii=False)
open("roberta/merges.txt", "w", encoding="utf-8").write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))
os.remove("roberta/vocab.txt")
texts = ["the film was great and fun.", "I loved it, but the plot was DULL!", "Café crème naïve déjà vu", "12.5% of $3,456 — “quoted”",
         "  leading spaces and trailing  ", "emoji 😀 and 東京", "it's the worst story i've seen", "tabs\tand\nnewlines", ""]
ids = [[0] + [ROBERTA_VOCAB[t] for w in words(t0) for t in bpe(w, RANKS)] + [2] for t0 in texts]
json.dump({"texts": texts, "ids": ids}, open("roberta/tokenizer_reference.json", "w", encoding="utf-8"), ensure_ascii=False)


# BERT with its pretraining heads (BertForPreTraining): cls.predictions (transform dense + gelu + LayerNorm, a decoder tied
# to the word embeddings, its own bias) and cls.seq_relationship (next-sentence prediction on the pooled [CLS]); the
# expected logits of both and the gradient of a fixed scalar of them with respect to every parameter. Written last so the
# fixtures above keep their random draws.
class BertForPreTraining(nn.Module):
    def __init__(self):
        super().__init__()
        self.bert = Bert()
        self.cls = nn.Module(); self.cls.predictions = nn.Module(); t = nn.Module()
        t.dense = nn.Linear(D, D); t.LayerNorm = nn.LayerNorm(D, eps=1e-12)
        self.cls.predictions.transform = t
        self.cls.predictions.bias = nn.Parameter(torch.zeros(V))
        self.cls.seq_relationship = nn.Linear(D, 2)

    def forward(self, ids, mask, types):
        hidden, pooled = self.bert(ids, mask, types)
        t = self.cls.predictions.transform
        h = t.LayerNorm(gelu(t.dense(hidden)))
        return h @ self.bert.embeddings.word_embeddings.weight.T + self.cls.predictions.bias, self.cls.seq_relationship(pooled)


V = len(VOCAB)
mlm = BertForPreTraining()
randomize(mlm)
round_to(mlm, torch.float32)
os.makedirs("bert-mlm", exist_ok=True)
ids = torch.tensor([[2, 8, 4, 12, 10, 3, 0, 0, 0], [2, 15, 20, 4, 13, 3, 19, 4, 3]])
mask = (ids != 0).long()
types = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1, 1, 1]])
logits, nsp = mlm(ids, mask, types)
R = torch.randn(logits.shape) * mask.unsqueeze(-1)
S = torch.randn(nsp.shape)
loss = (logits * R).sum() + (nsp * S).sum()
loss.backward()
tensors = {n: ("F32", p.detach()) for n, p in mlm.named_parameters()}  # the tied decoder is stored once, as Hugging Face saves it
write_safetensors(os.path.join("bert-mlm", "model.safetensors"), tensors, {"format": "pt"})
json.dump(dict(bert_config, architectures=["BertForPreTraining"]), open(os.path.join("bert-mlm", "config.json"), "w"), indent=2)
open(os.path.join("bert-mlm", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
r = lambda t: [round(float(v), 9) for v in t.reshape(-1).tolist()]
json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(), "R": r(R), "S": r(S),
           "mlm_logits": r(logits.detach()), "nsp_logits": r(nsp.detach()), "loss": float(loss),
           "grads": {n: r(p.grad) for n, p in mlm.named_parameters()}}, open(os.path.join("bert-mlm", "expected.json"), "w"))


# The same BERT checkpoint as PyTorch's own pickle, pytorch_model.bin (torch.save of the state dict, as older Hugging
# Face folders hold it), in bert-pickle/: the same names and values, one weight stored transposed (a strided view of its
# storage) and a decoder tied to the word embeddings (two tensors, one storage). tensors.bin holds the other cases:
# F16, BF16 and F64 storages, a view at an offset, a 0-d tensor, an I64 tensor; tensors.json their values.
os.makedirs("bert-pickle", exist_ok=True)
state = collections.OrderedDict()
for n, p in bert.named_parameters():
    t = p.detach().to(torch.float32)
    if n == "encoder.layer.0.attention.self.query.weight": t = t.t().contiguous().t()
    state["bert." + old_names(n)] = t
state["bert.embeddings.position_ids"] = torch.arange(P).unsqueeze(0)
state["cls.predictions.bias"] = torch.zeros(V)
state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"]
torch.save(state, os.path.join("bert-pickle", "pytorch_model.bin"))
json.dump(bert_config, open(os.path.join("bert-pickle", "config.json"), "w"), indent=2)
open(os.path.join("bert-pickle", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
base = torch.tensor([[0.5, -1.25, 3.0], [1e-3, 2.5e4, -7.0]], dtype=torch.float32)
tensors = collections.OrderedDict(f32=base, f16=torch.tensor([0.1, -2.0, 65504.0, 6e-8], dtype=torch.float16),
    bf16=torch.tensor([0.1, -3.0e38, 1.0], dtype=torch.bfloat16), f64=torch.tensor([[1.0 / 3, -2.5], [1e-30, 4.0]], dtype=torch.float64),
    view=base[1:], transposed=base.t(), scalar=torch.tensor(2.75), ids=torch.arange(4))
torch.save(tensors, "tensors.bin")
json.dump({n: {"shape": list(t.shape), "values": [float(v) for v in t.to(torch.float32).reshape(-1).tolist()]}
           for n, t in tensors.items() if n != "ids"}, open("tensors.json", "w"), indent=1)


# Sequence classifiers as Hugging Face's *ForSequenceClassification save them (F32), on the BERT, RoBERTa and DistilBERT
# checkpoints: BertForSequenceClassification, BERT's pooler then `classifier` over 3 labels; RobertaForSequenceClassification,
# no pooler but `classifier.dense` + tanh on <s> then `classifier.out_proj`, over 2; DistilBertForSequenceClassification,
# `pre_classifier` + ReLU on [CLS] then `classifier`, over 2. Config with id2label; expected.json the logits of a fixed
# batch (eval mode). Own generator, so the draws above are kept.
g = torch.Generator().manual_seed(2)
for folder, model, kind, labels in (("bert-classifier", bert, "bert", ["negative", "neutral", "positive"]),
                                    ("roberta-classifier", roberta, "roberta", ["NEGATIVE", "POSITIVE"]),
                                    ("distilbert-classifier", distilbert, "distilbert", ["NEGATIVE", "POSITIVE"])):
    os.makedirs(folder, exist_ok=True)
    n = len(labels)
    rnd = lambda *shape, s=0.3: (s * torch.randn(*shape, generator=g)).to(torch.float32).to(torch.float64)
    head = {"roberta": lambda: {"classifier.dense.weight": rnd(D, D), "classifier.dense.bias": rnd(D, s=0.1), "classifier.out_proj.weight": rnd(n, D), "classifier.out_proj.bias": rnd(n, s=0.1)},
            "distilbert": lambda: {"pre_classifier.weight": rnd(D, D), "pre_classifier.bias": rnd(D, s=0.1), "classifier.weight": rnd(n, D), "classifier.bias": rnd(n, s=0.1)},
            "bert": lambda: {"classifier.weight": rnd(n, D), "classifier.bias": rnd(n, s=0.1)}}[kind]()
    pad, cls, sep = (1, 0, 2) if kind == "roberta" else (0, 2, 3)
    ids = torch.tensor([[cls, 8, 9, 12, 10, sep, pad, pad, pad], [cls, 15, 20, 7, 13, 11, 19, 30, sep], [cls, 5, sep, pad, pad, pad, pad, pad, pad]])
    mask = (ids != pad).long()
    types = torch.zeros_like(ids)
    if kind == "bert": types[1, 5:] = 1
    with torch.no_grad():
        hidden, pooled = model(ids, mask, types)
        if kind == "roberta":
            logits = torch.tanh(hidden[:, 0] @ head["classifier.dense.weight"].T + head["classifier.dense.bias"]) @ head["classifier.out_proj.weight"].T + head["classifier.out_proj.bias"]
        elif kind == "distilbert":
            logits = torch.relu(hidden[:, 0] @ head["pre_classifier.weight"].T + head["pre_classifier.bias"]) @ head["classifier.weight"].T + head["classifier.bias"]
        else:
            logits = pooled @ head["classifier.weight"].T + head["classifier.bias"]
    tensors = {kind + "." + old_names(n0): ("F32", p.detach()) for n0, p in model.named_parameters() if not (kind == "roberta" and n0.startswith("pooler."))}
    tensors.update({k: ("F32", v) for k, v in head.items()})
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})
    base = json.load(open(os.path.join(kind, "config.json")))
    json.dump(dict(base, architectures=[{"bert": "Bert", "roberta": "Roberta", "distilbert": "DistilBert"}[kind] + "ForSequenceClassification"],
                   id2label={str(i): l for i, l in enumerate(labels)}, label2id={l: i for i, l in enumerate(labels)}),
              open(os.path.join(folder, "config.json"), "w"), indent=2)
    for f in (("vocab.json", "merges.txt") if kind == "roberta" else ("vocab.txt",)):
        open(os.path.join(folder, f), "w", encoding="utf-8").write(open(os.path.join(kind, f), encoding="utf-8").read())
    json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(),
               "logits": [round(float(v), 9) for v in logits.reshape(-1).tolist()]}, open(os.path.join(folder, "expected.json"), "w"))


# A fine-tuning trajectory on the "bert" checkpoint, as BertForSequenceClassification trains (the pooler's output, a
# linear head over 2 classes, mean cross-entropy), with the library's recipe: linear warmup over 2 steps then linear
# decay to 0 at step 4, gradient clipping at global norm 1, AdamW with decoupled weight decay on the Linear weights only
# (not on biases, LayerNorms or embeddings; a large λ so that a wrong group would show). The loss of each of the four
# steps and every weight after the last check the engine's whole step (loss, backward, clipping, schedule, AdamW).
# Own generator, and last in the file, so that the fixtures above keep their random streams.
g = torch.Generator().manual_seed(1)
head = nn.Linear(D, 2)
with torch.no_grad():
    head.weight.copy_(0.3 * torch.randn(head.weight.shape, generator=g)); head.bias.copy_(0.1 * torch.randn(2, generator=g))
round_to(head, torch.float32)
r = lambda t: [round(float(v), 9) for v in t.reshape(-1).tolist()]
initial_head = {"weight": r(head.weight.detach()), "bias": r(head.bias.detach())}
steps, lens = [], [[7, 4, 9], [5, 12, 3], [10, 10, 6], [4, 8, 11]]
for row_lens in lens:
    T = max(row_lens)
    ids, types = torch.zeros(3, T, dtype=torch.long), torch.zeros(3, T, dtype=torch.long)
    for j, n in enumerate(row_lens):
        ids[j, :n] = torch.randint(5, V, (n,), generator=g); ids[j, 0] = 2; ids[j, n - 1] = 3
        if j == 1: types[j, n // 2:n] = 1  # a sentence pair
    steps.append((ids, (ids != 0).long(), types, torch.randint(0, 2, (3,), generator=g)))
bert.zero_grad()
params = [(n, p) for n, p in bert.named_parameters()] + [("classifier." + n, p) for n, p in head.named_parameters()]
decayed = lambda n: n.endswith("weight") and "LayerNorm" not in n and "embeddings" not in n
LR, WD, WARM, TOTAL = 1e-2, 0.1, 2, 4
opt = torch.optim.AdamW([dict(params=[p for n, p in params if decayed(n)], weight_decay=WD),
                         dict(params=[p for n, p in params if not decayed(n)], weight_decay=0.0)], lr=LR, eps=1e-8)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / WARM, max(0.0, (TOTAL - s) / (TOTAL - WARM))))
losses = []
for ids, mask, types, labels in steps:
    _, pooled = bert(ids, mask, types)
    loss = nn.functional.cross_entropy(head(pooled), labels)
    opt.zero_grad(); loss.backward()
    for _, p in params:  # a parameter the loss does not reach still steps (its weight decay), as in the engine
        if p.grad is None: p.grad = torch.zeros_like(p)
    torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0); opt.step(); sched.step()
    losses.append(float(loss))
json.dump({"learning_rate": LR, "weight_decay": WD, "warmup_steps": WARM, "total_steps": TOTAL, "max_grad_norm": 1.0,
           "head": initial_head,
           "batches": [{"input_ids": i.tolist(), "attention_mask": m.tolist(), "token_type_ids": t.tolist(), "labels": y.tolist()} for i, m, t, y in steps],
           "losses": losses, "final": {n: r(p.detach()) for n, p in params}}, open(os.path.join("bert", "finetune.json"), "w"))


# ELECTRA's discriminator as ElectraForPreTraining saves it (F32, "electra." prefix, its discriminator_predictions head
# beside the encoder): embeddings of embedding_size E < hidden_size, LayerNorm at E, then embeddings_project to D, BERT's
# layers, no pooler (modeling_electra.py). electra-classifier/: ElectraForSequenceClassification, whose head is
# classifier.dense + GELU on the first token, then classifier.out_proj. Own seed, last in the file, so the fixtures above
# keep their random streams.
class Electra(Bert):
    def __init__(self, E):
        super().__init__()
        e = self.embeddings
        e.word_embeddings = nn.Embedding(V, E); e.position_embeddings = nn.Embedding(P, E)
        e.token_type_embeddings = nn.Embedding(2, E); e.LayerNorm = nn.LayerNorm(E, eps=1e-12)
        self.embeddings_project = nn.Linear(E, D)
        del self.pooler

    def forward(self, ids, mask, types):
        return self.layers(self.embeddings_project(self.embed(ids, mask, types)), mask), None


torch.manual_seed(3)
E = 8
electra = Electra(E)
electra_config = dict(bert_config, model_type="electra", embedding_size=E, position_embedding_type="absolute", architectures=["ElectraForPreTraining"])
disc = torch.Generator().manual_seed(4)
make("electra", electra, electra_config, "F32", prefix="electra.",
     extra={"discriminator_predictions.dense.weight": ("F32", torch.randn(D, D, generator=disc)), "discriminator_predictions.dense.bias": ("F32", torch.randn(D, generator=disc)),
            "discriminator_predictions.dense_prediction.weight": ("F32", torch.randn(1, D, generator=disc)), "discriminator_predictions.dense_prediction.bias": ("F32", torch.randn(1, generator=disc))})

os.makedirs("electra-classifier", exist_ok=True)
labels = ["negative", "neutral", "positive"]
n = len(labels)
rnd = lambda *shape, s=0.3: (s * torch.randn(*shape, generator=disc)).to(torch.float32).to(torch.float64)
head = {"classifier.dense.weight": rnd(D, D), "classifier.dense.bias": rnd(D, s=0.1), "classifier.out_proj.weight": rnd(n, D), "classifier.out_proj.bias": rnd(n, s=0.1)}
ids = torch.tensor([[2, 8, 9, 12, 10, 3, 0, 0, 0], [2, 15, 20, 7, 13, 11, 19, 30, 3], [2, 5, 3, 0, 0, 0, 0, 0, 0]])
mask = (ids != 0).long()
types = torch.zeros_like(ids); types[1, 5:] = 1
with torch.no_grad():
    hidden, _ = electra(ids, mask, types)
    logits = gelu(hidden[:, 0] @ head["classifier.dense.weight"].T + head["classifier.dense.bias"]) @ head["classifier.out_proj.weight"].T + head["classifier.out_proj.bias"]
tensors = {"electra." + n0: ("F32", p.detach()) for n0, p in electra.named_parameters()}
tensors.update({k: ("F32", v) for k, v in head.items()})
write_safetensors(os.path.join("electra-classifier", "model.safetensors"), tensors, {"format": "pt"})
json.dump(dict(electra_config, architectures=["ElectraForSequenceClassification"], id2label={str(i): l for i, l in enumerate(labels)},
               label2id={l: i for i, l in enumerate(labels)}), open(os.path.join("electra-classifier", "config.json"), "w"), indent=2)
open(os.path.join("electra-classifier", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(),
           "logits": [round(float(v), 9) for v in logits.reshape(-1).tolist()]}, open(os.path.join("electra-classifier", "expected.json"), "w"))
export_task_onnx("electra-classifier", "electra.", electra, head, lambda o, m, M: M("classifier.out_proj")(gelu(M("classifier.dense")(o[0][:, 0]))), ids, 0, types=types)


# MPNet (modeling_mpnet.py): RoBERTa's positions (padding_idx 1), no token types, BERT's post-norm layers under MPNet's
# names, and one relative position bias table for every layer's scores (encoder.relative_attention_bias, T5's buckets:
# 32, max distance 128). mpnet/ is a bare MPNetModel as sentence-transformers saves it (no prefix), sequences up to 20
# tokens so that offsets reach the logarithmic buckets; relative_buckets.json holds PyTorch's bucket of every offset in
# -700..700; mpnet-classifier/ is MPNetForSequenceClassification (no pooler; classifier.dense + tanh + out_proj).
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


class MPNet(nn.Module):
    def __init__(self, buckets=32):
        super().__init__()
        self.pad, self.buckets = 1, buckets
        e = nn.Module(); e.word_embeddings = nn.Embedding(V, D); e.position_embeddings = nn.Embedding(P + 2, D); e.LayerNorm = nn.LayerNorm(D, eps=1e-12)
        self.embeddings = e
        self.encoder = nn.Module(); self.encoder.layer = nn.ModuleList()
        for _ in range(L):
            l = nn.Module(); l.attention = nn.Module(); l.attention.attn = nn.Module()
            for n in ("q", "k", "v", "o"): setattr(l.attention.attn, n, nn.Linear(D, D))
            l.attention.LayerNorm = nn.LayerNorm(D, eps=1e-12)
            l.intermediate = nn.Module(); l.intermediate.dense = nn.Linear(D, F)
            l.output = nn.Module(); l.output.dense = nn.Linear(F, D); l.output.LayerNorm = nn.LayerNorm(D, eps=1e-12)
            self.encoder.layer.append(l)
        self.encoder.relative_attention_bias = nn.Embedding(buckets, H)
        self.pooler = nn.Module(); self.pooler.dense = nn.Linear(D, D)

    def forward(self, ids, mask, types):
        B, T = ids.shape
        pos = torch.cumsum(mask, 1) * mask + self.pad
        e = self.embeddings
        x = e.LayerNorm(e.word_embeddings(ids) + e.position_embeddings(pos))
        rel = torch.arange(T)[None, :] - torch.arange(T)[:, None]  # key j minus query i
        pb = self.encoder.relative_attention_bias(relative_position_bucket(rel, self.buckets)).permute(2, 0, 1).unsqueeze(0)
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        hd = D // H
        for l in self.encoder.layer:
            s = l.attention.attn
            q, k, v = (m(x).view(B, T, H, hd).transpose(1, 2) for m in (s.q, s.k, s.v))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + pb + bias, -1)
            c = (a @ v).transpose(1, 2).reshape(B, T, D)
            x = l.attention.LayerNorm(s.o(c) + x)
            x = l.output.LayerNorm(l.output.dense(gelu(l.intermediate.dense(x))) + x)
        return x, torch.tanh(self.pooler.dense(x[:, 0]))


torch.manual_seed(5)
MPNET_VOCAB = ["<s>", "<pad>", "</s>", "<unk>", "[UNK]", "<mask>"] + WORDS
assert len(MPNET_VOCAB) == V
mpnet = MPNet()
mpnet_config = {"model_type": "mpnet", "vocab_size": V, "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H, "intermediate_size": F,
                "hidden_act": "gelu", "max_position_embeddings": P + 2, "layer_norm_eps": 1e-12, "relative_attention_num_buckets": 32,
                "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "architectures": ["MPNetModel"]}
mpnet_ids = torch.tensor([[0] + list(range(6, 24)) + [2], [0, 8, 9, 12, 10, 2] + [1] * 14, [0] + list(range(39, 25, -1)) + [2, 1, 1, 1, 1]])
make("mpnet", mpnet, mpnet_config, "F32", ids=mpnet_ids, pad=1, vocab=MPNET_VOCAB)
json.dump({"tokenizer_class": "MPNetTokenizer", "do_lower_case": True}, open(os.path.join("mpnet", "tokenizer_config.json"), "w"))
offsets = torch.arange(-700, 701)
json.dump({"num_buckets": 32, "max_distance": 128, "offsets": offsets.tolist(), "buckets": relative_position_bucket(offsets).tolist()},
          open(os.path.join("mpnet", "relative_buckets.json"), "w"))

os.makedirs("mpnet-classifier", exist_ok=True)
g = torch.Generator().manual_seed(6)
labels = ["NEGATIVE", "POSITIVE"]
n = len(labels)
rnd = lambda *shape, s=0.3: (s * torch.randn(*shape, generator=g)).to(torch.float32).to(torch.float64)
head = {"classifier.dense.weight": rnd(D, D), "classifier.dense.bias": rnd(D, s=0.1), "classifier.out_proj.weight": rnd(n, D), "classifier.out_proj.bias": rnd(n, s=0.1)}
mask = (mpnet_ids != 1).long()
with torch.no_grad():
    hidden, _ = mpnet(mpnet_ids, mask, None)
    logits = torch.tanh(hidden[:, 0] @ head["classifier.dense.weight"].T + head["classifier.dense.bias"]) @ head["classifier.out_proj.weight"].T + head["classifier.out_proj.bias"]
tensors = {"mpnet." + n0: ("F32", p.detach()) for n0, p in mpnet.named_parameters() if not n0.startswith("pooler.")}
tensors.update({k: ("F32", v) for k, v in head.items()})
write_safetensors(os.path.join("mpnet-classifier", "model.safetensors"), tensors, {"format": "pt"})
json.dump(dict(mpnet_config, architectures=["MPNetForSequenceClassification"], id2label={str(i): l for i, l in enumerate(labels)},
               label2id={l: i for i, l in enumerate(labels)}), open(os.path.join("mpnet-classifier", "config.json"), "w"), indent=2)
open(os.path.join("mpnet-classifier", "vocab.txt"), "w").write("\n".join(MPNET_VOCAB) + "\n")
json.dump({"input_ids": mpnet_ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": torch.zeros_like(mpnet_ids).tolist(),
           "logits": [round(float(v), 9) for v in logits.reshape(-1).tolist()]}, open(os.path.join("mpnet-classifier", "expected.json"), "w"))
export_task_onnx("mpnet-classifier", "mpnet.", mpnet, head, lambda o, m, M: M("classifier.out_proj")(torch.tanh(M("classifier.dense")(o[0][:, 0]))), mpnet_ids, 1)

# MPNetForMaskedLM (mpnet-mlm/): the MPNet checkpoint without a pooler, and lm_head (dense + gelu + layer_norm, a decoder
# tied to the word embeddings with its own bias, stored as lm_head.decoder.weight and lm_head.decoder.bias as well, as
# PyTorch's state dict holds them); expected.json the logits of a batch with <mask> tokens.
g = torch.Generator().manual_seed(7)
lm = {"lm_head.dense.weight": rnd(D, D), "lm_head.dense.bias": rnd(D, s=0.1), "lm_head.layer_norm.weight": 1 + rnd(D, s=0.2),
      "lm_head.layer_norm.bias": rnd(D, s=0.1), "lm_head.bias": rnd(V, s=0.1)}
mask_id = MPNET_VOCAB.index("<mask>")
mlm_ids = torch.tensor([[0, 6, 8, 17, mask_id, 2, 1, 1], [0, mask_id, 14, 16, 34, mask_id, 24, 2]])
mlm_mask = (mlm_ids != 1).long()
with torch.no_grad():
    hidden, _ = mpnet(mlm_ids, mlm_mask, None)
    h = torch.nn.functional.layer_norm(gelu(hidden @ lm["lm_head.dense.weight"].T + lm["lm_head.dense.bias"]), (D,), lm["lm_head.layer_norm.weight"], lm["lm_head.layer_norm.bias"], eps=1e-12)
    mlm_logits = h @ mpnet.embeddings.word_embeddings.weight.T + lm["lm_head.bias"]
os.makedirs("mpnet-mlm", exist_ok=True)
tensors = {"mpnet." + n0: ("F32", p.detach()) for n0, p in mpnet.named_parameters() if not n0.startswith("pooler.")}
tensors.update({k: ("F32", v) for k, v in lm.items()})
tensors["lm_head.decoder.weight"] = ("F32", mpnet.embeddings.word_embeddings.weight.detach())
tensors["lm_head.decoder.bias"] = ("F32", lm["lm_head.bias"])
write_safetensors(os.path.join("mpnet-mlm", "model.safetensors"), tensors, {"format": "pt"})
json.dump(dict(mpnet_config, architectures=["MPNetForMaskedLM"]), open(os.path.join("mpnet-mlm", "config.json"), "w"), indent=2)
open(os.path.join("mpnet-mlm", "vocab.txt"), "w").write("\n".join(MPNET_VOCAB) + "\n")
json.dump({"input_ids": mlm_ids.tolist(), "attention_mask": mlm_mask.tolist(), "logits": [round(float(v), 9) for v in mlm_logits.reshape(-1).tolist()]},
          open(os.path.join("mpnet-mlm", "expected.json"), "w"))

# The pickle fixture's state dict split into two torch.save shards with pytorch_model.bin.index.json, as Hugging Face's
# save_pretrained shards a large model (bert-pickle-sharded/).
os.makedirs("bert-pickle-sharded", exist_ok=True)
names = list(state.keys())
weight_map = {}
for shard in range(2):
    file = f"pytorch_model-0000{shard + 1}-of-00002.bin"
    part = collections.OrderedDict((n, state[n].clone()) for i, n in enumerate(names) if i % 2 == shard)
    torch.save(part, os.path.join("bert-pickle-sharded", file))
    weight_map.update({n: file for n in part})
json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, open(os.path.join("bert-pickle-sharded", "pytorch_model.bin.index.json"), "w"), indent=1)
json.dump(bert_config, open(os.path.join("bert-pickle-sharded", "config.json"), "w"), indent=2)
open(os.path.join("bert-pickle-sharded", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")

def masked_lm_logits(model, ids, mask, head, prefix, act, eps, bias):
    """A BERT-style masked-LM head over the model's hidden states: LayerNorm(act(dense(h))) times the word embeddings
    (the tied decoder), plus the head's bias; the dense layer's output width is the embeddings'."""
    with torch.no_grad():
        hidden, _ = model(ids, mask, torch.zeros_like(ids))
        w = head[prefix + "dense.weight"]
        h = torch.nn.functional.layer_norm(act(hidden @ w.T + head[prefix + "dense.bias"]), (w.shape[0],),
                                           head[prefix + "LayerNorm.weight"], head[prefix + "LayerNorm.bias"], eps=eps)
        return h @ model.embeddings.word_embeddings.weight.T + head[bias]


# ElectraForMaskedLM, a generator (electra-generator/): the ELECTRA encoder above (embeddings 8 wide projected to 16),
# generator_predictions (dense 16 -> 8, gelu, LayerNorm over 8) and generator_lm_head, tied to the 8-wide word
# embeddings, with its own bias; expected.json the logits of a batch with [MASK] tokens.
g = torch.Generator().manual_seed(8)
gen = {"generator_predictions.dense.weight": rnd(E, D), "generator_predictions.dense.bias": rnd(E, s=0.1),
       "generator_predictions.LayerNorm.weight": 1 + rnd(E, s=0.2), "generator_predictions.LayerNorm.bias": rnd(E, s=0.1), "generator_lm_head.bias": rnd(V, s=0.1)}
gen_ids = torch.tensor([[2, 6, 8, 17, 4, 3, 0, 0], [2, 4, 14, 16, 34, 4, 24, 3]])
gen_mask = (gen_ids != 0).long()
gen_logits = masked_lm_logits(electra, gen_ids, gen_mask, gen, "generator_predictions.", gelu, 1e-12, "generator_lm_head.bias")
os.makedirs("electra-generator", exist_ok=True)
tensors = {"electra." + n0: ("F32", p.detach()) for n0, p in electra.named_parameters()}
tensors.update({k: ("F32", v) for k, v in gen.items()})
tensors["generator_lm_head.weight"] = ("F32", electra.embeddings.word_embeddings.weight.detach())
write_safetensors(os.path.join("electra-generator", "model.safetensors"), tensors, {"format": "pt"})
json.dump(dict(electra_config, architectures=["ElectraForMaskedLM"]), open(os.path.join("electra-generator", "config.json"), "w"), indent=2)
open(os.path.join("electra-generator", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
json.dump({"input_ids": gen_ids.tolist(), "attention_mask": gen_mask.tolist(), "logits": [round(float(v), 9) for v in gen_logits.reshape(-1).tolist()]},
          open(os.path.join("electra-generator", "expected.json"), "w"))

# ALBERT (modeling_albert.py), albert/: AlbertForPreTraining as it saves (F32, "albert." prefix; its predictions.* and
# sop_classifier.* heads beside the encoder): embeddings of embedding_size E, LayerNorm at E, embedding_hidden_mapping_in
# to D, then num_hidden_layers = 3 layers that all run the one group of weights (albert_layer_groups.0.albert_layers.0:
# attention.query/key/value/dense + attention.LayerNorm, ffn + gelu_new + ffn_output, full_layer_layer_norm), and the pooler
# (one Linear, tanh). Its tokenizer is albert-tokenizer/spiece.model (make_sentencepiece_reference.py, run first), whose
# pieces number the vocabulary. albert-classifier/: AlbertForSequenceClassification of 4 layers in 2 groups (layer i runs
# group int(i / (4 / 2))), the pooler then `classifier`. albert-mlm/: AlbertForMaskedLM (no pooler; predictions.dense
# D -> E, gelu_new, LayerNorm at E, a decoder tied to the word embeddings with predictions.bias). Own seeds, last in the file.
import shutil


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


class Albert(nn.Module):
    def __init__(self, V, E, layers, groups, pooler=True):
        super().__init__()
        self.L, self.G = layers, groups
        e = nn.Module()
        e.word_embeddings = nn.Embedding(V, E); e.position_embeddings = nn.Embedding(P, E)
        e.token_type_embeddings = nn.Embedding(2, E); e.LayerNorm = nn.LayerNorm(E, eps=1e-12)
        self.embeddings = e
        self.encoder = nn.Module()
        self.encoder.embedding_hidden_mapping_in = nn.Linear(E, D)
        self.encoder.albert_layer_groups = nn.ModuleList()
        for _ in range(groups):
            g = nn.Module(); g.albert_layers = nn.ModuleList()
            l = nn.Module(); l.attention = nn.Module()
            for n in ("query", "key", "value", "dense"): setattr(l.attention, n, nn.Linear(D, D))
            l.attention.LayerNorm = nn.LayerNorm(D, eps=1e-12)
            l.ffn = nn.Linear(D, F); l.ffn_output = nn.Linear(F, D); l.full_layer_layer_norm = nn.LayerNorm(D, eps=1e-12)
            g.albert_layers.append(l)
            self.encoder.albert_layer_groups.append(g)
        if pooler: self.pooler = nn.Linear(D, D)

    def forward(self, ids, mask, types):
        B, T = ids.shape
        e = self.embeddings
        x = e.LayerNorm(e.word_embeddings(ids) + e.position_embeddings(torch.arange(T)).unsqueeze(0) + e.token_type_embeddings(types))
        x = self.encoder.embedding_hidden_mapping_in(x)
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        hd = D // H
        for i in range(self.L):
            l = self.encoder.albert_layer_groups[int(i / (self.L / self.G))].albert_layers[0]
            at = l.attention
            q, k, v = (m(x).view(B, T, H, hd).transpose(1, 2) for m in (at.query, at.key, at.value))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, -1)
            c = (a @ v).transpose(1, 2).reshape(B, T, D)
            x = at.LayerNorm(x + at.dense(c))
            x = l.full_layer_layer_norm(l.ffn_output(gelu_new(l.ffn(x))) + x)
        return x, (torch.tanh(self.pooler(x[:, 0])) if hasattr(self, "pooler") else None)


ALBERT_PIECES = json.load(open("albert-tokenizer/tokenizer_reference.json", encoding="utf-8"))["pieces"]
albert_config = {"model_type": "albert", "vocab_size": ALBERT_PIECES, "embedding_size": E, "hidden_size": D, "num_hidden_layers": 3,
                 "num_hidden_groups": 1, "inner_group_num": 1, "num_attention_heads": H, "intermediate_size": F, "hidden_act": "gelu_new",
                 "max_position_embeddings": P, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.0,
                 "attention_probs_dropout_prob": 0.0, "classifier_dropout_prob": 0.1, "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3,
                 "architectures": ["AlbertForPreTraining"]}


def albert_folder(name):
    os.remove(os.path.join(name, "vocab.txt")) if os.path.exists(os.path.join(name, "vocab.txt")) else None
    shutil.copy("albert-tokenizer/spiece.model", os.path.join(name, "spiece.model"))


torch.manual_seed(21)
albert = Albert(ALBERT_PIECES, E, 3, 1)
heads = torch.Generator().manual_seed(22)
rnd = lambda *shape, s=0.3: (s * torch.randn(*shape, generator=heads)).to(torch.float32).to(torch.float64)
make("albert", albert, albert_config, "F32", prefix="albert.",
     extra={"predictions.bias": ("F32", rnd(ALBERT_PIECES)), "predictions.dense.weight": ("F32", rnd(E, D)), "predictions.dense.bias": ("F32", rnd(E)),
            "predictions.LayerNorm.weight": ("F32", 1 + rnd(E)), "predictions.LayerNorm.bias": ("F32", rnd(E)),
            "sop_classifier.classifier.weight": ("F32", rnd(2, D)), "sop_classifier.classifier.bias": ("F32", rnd(2)),
            "albert.embeddings.position_ids": ("I64", torch.arange(P).unsqueeze(0))})
albert_folder("albert")

torch.manual_seed(23)
grouped = Albert(ALBERT_PIECES, E, 4, 2)
randomize(grouped); round_to(grouped, torch.float32)
labels = ["negative", "positive"]
head = {"classifier.weight": rnd(len(labels), D), "classifier.bias": rnd(len(labels), s=0.1)}
ids = torch.tensor([[2, 8, 9, 12, 10, 3, 0, 0, 0], [2, 15, 20, 7, 13, 3, 19, 30, 3], [2, 5, 3, 0, 0, 0, 0, 0, 0]])
mask = (ids != 0).long()
types = torch.zeros_like(ids); types[1, 6:] = 1
with torch.no_grad():
    _, pooled = grouped(ids, mask, types)
    logits = pooled @ head["classifier.weight"].T + head["classifier.bias"]
os.makedirs("albert-classifier", exist_ok=True)
tensors = {"albert." + n0: ("F32", p.detach()) for n0, p in grouped.named_parameters()}
tensors.update({k: ("F32", v) for k, v in head.items()})
write_safetensors(os.path.join("albert-classifier", "model.safetensors"), tensors, {"format": "pt"})
json.dump(dict(albert_config, num_hidden_layers=4, num_hidden_groups=2, architectures=["AlbertForSequenceClassification"],
               id2label={str(i): l for i, l in enumerate(labels)}, label2id={l: i for i, l in enumerate(labels)}),
          open(os.path.join("albert-classifier", "config.json"), "w"), indent=2)
json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(),
           "logits": [round(float(v), 9) for v in logits.reshape(-1).tolist()]}, open(os.path.join("albert-classifier", "expected.json"), "w"))
export_task_onnx("albert-classifier", "albert.", grouped, head, lambda o, m, M: M("classifier")(o[1]), ids, 0, types=types)
albert_folder("albert-classifier")

# AlbertForMaskedLM (albert-mlm/) on the albert/ encoder without its pooler; the decoder is stored as predictions.decoder.weight (the
# word embeddings) and predictions.decoder.bias (predictions.bias), as the state dict holds them.
# The first row is "The film was [MASK]" as ALBERT's tokenizer reads it (albert-tokenizer's model); the second two masks.
import sentencepiece
first = [2] + sentencepiece.SentencePieceProcessor(model_file="albert-tokenizer/spiece.model").encode("the film was") + [4, 3]
mlm_ids = torch.tensor([first + [0] * (12 - len(first)), [2, 4, 14, 16, 34, 4, 24, 40, 41, 60, 3, 0]])
mlm_mask = (mlm_ids != 0).long()
state = {n0: t.detach() for n0, t in albert.named_parameters() if not n0.startswith("pooler.")}
pred = {"predictions.dense.weight": rnd(E, D), "predictions.dense.bias": rnd(E, s=0.1), "predictions.LayerNorm.weight": 1 + rnd(E, s=0.2),
        "predictions.LayerNorm.bias": rnd(E, s=0.1), "predictions.bias": rnd(ALBERT_PIECES, s=0.1)}
mlm_logits = masked_lm_logits(albert, mlm_ids, mlm_mask, pred, "predictions.", gelu_new, 1e-12, "predictions.bias")
os.makedirs("albert-mlm", exist_ok=True)
tensors = {"albert." + n0: ("F32", t) for n0, t in state.items()}
tensors.update({k: ("F32", v) for k, v in pred.items()})
tensors["predictions.decoder.weight"] = ("F32", albert.embeddings.word_embeddings.weight.detach())
tensors["predictions.decoder.bias"] = ("F32", pred["predictions.bias"])
write_safetensors(os.path.join("albert-mlm", "model.safetensors"), tensors, {"format": "pt"})
json.dump(dict(albert_config, architectures=["AlbertForMaskedLM"]), open(os.path.join("albert-mlm", "config.json"), "w"), indent=2)
json.dump({"input_ids": mlm_ids.tolist(), "attention_mask": mlm_mask.tolist(), "logits": [round(float(v), 9) for v in mlm_logits.reshape(-1).tolist()]},
          open(os.path.join("albert-mlm", "expected.json"), "w"))
albert_folder("albert-mlm")

def task_folder(name, prefix, model, head, config, expected, leave_out=None):
    """A task model's folder: the encoder's tensors under prefix (but those starting with leave_out) and the head's (F32), config.json, expected.json."""
    os.makedirs(name, exist_ok=True)
    tensors = {prefix + n0: ("F32", p.detach()) for n0, p in model.named_parameters() if leave_out is None or not n0.startswith(leave_out)}
    tensors.update({k: ("F32", v) for k, v in head.items()})
    write_safetensors(os.path.join(name, "model.safetensors"), tensors, {"format": "pt"})
    json.dump(config, open(os.path.join(name, "config.json"), "w"), indent=2)
    json.dump(expected, open(os.path.join(name, "expected.json"), "w"))


# DeBERTa-v2/v3 (modeling_deberta_v2.py), deberta/: a bare DebertaV2Model as DeBERTa-v3's configs shape it: no absolute
# positions (position_biased_input false), no token types, embeddings LayerNorm, post-norm layers with query_proj /
# key_proj / value_proj, and disentangled attention: encoder.rel_embeddings (2 * position_buckets rows) through
# encoder.LayerNorm, projected by each layer's own query_proj and key_proj (share_att_key), adding c2p and p2c terms
# gathered at clamp(log_bucket(i - j) + span, 0, 2 span - 1), all scores scaled by 1/sqrt(3 * head size). Buckets 6 (mid 3)
# and max_relative_positions 12 on sequences of 12, so distances reach the log buckets; vocabulary: deberta-tokenizer's
# spm.model (make_sentencepiece_reference.py, run first) pieces + [MASK]. deberta-classifier/:
# DebertaV2ForSequenceClassification (ContextPooler: pooler.dense + gelu on the first token, then classifier), 3 labels.
def log_bucket(rel, bucket_size, max_position):  # make_log_bucket_position, in float32 as transformers runs it
    sign = torch.sign(rel)
    mid = bucket_size // 2
    abs_pos = torch.where((rel < mid) & (rel > -mid), torch.tensor(mid - 1).type_as(rel), torch.abs(rel))
    log_pos = torch.ceil(torch.log(abs_pos.float() / mid) / torch.log(torch.tensor((max_position - 1) / mid, dtype=torch.float32)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign).to(torch.long)


class DebertaV2(nn.Module):
    def __init__(self, V, span, max_rel, conv=0, conv_act=None):
        super().__init__()
        self.span, self.max_rel, self.conv_act = span, max_rel, conv_act
        e = nn.Module()
        e.word_embeddings = nn.Embedding(V, D); e.LayerNorm = nn.LayerNorm(D, eps=1e-7)
        self.embeddings = e
        self.encoder = nn.Module(); self.encoder.layer = nn.ModuleList()
        for _ in range(L):
            l = nn.Module(); l.attention = nn.Module(); l.attention.self = nn.Module(); l.attention.output = nn.Module()
            for n in ("query_proj", "key_proj", "value_proj"): setattr(l.attention.self, n, nn.Linear(D, D))
            l.attention.output.dense = nn.Linear(D, D); l.attention.output.LayerNorm = nn.LayerNorm(D, eps=1e-7)
            l.intermediate = nn.Module(); l.intermediate.dense = nn.Linear(D, F)
            l.output = nn.Module(); l.output.dense = nn.Linear(F, D); l.output.LayerNorm = nn.LayerNorm(D, eps=1e-7)
            self.encoder.layer.append(l)
        self.encoder.rel_embeddings = nn.Embedding(2 * span, D)
        self.encoder.LayerNorm = nn.LayerNorm(D, eps=1e-7)
        if conv:  # deberta-v2-xlarge's ConvLayer after the first layer
            self.encoder.conv = nn.Module()
            self.encoder.conv.conv = nn.Conv1d(D, D, conv, padding=(conv - 1) // 2)
            self.encoder.conv.LayerNorm = nn.LayerNorm(D, eps=1e-7)

    def forward(self, ids, mask, types):
        B, T = ids.shape
        e = self.embeddings
        x = e.LayerNorm(e.word_embeddings(ids)) * mask.unsqueeze(-1)
        x0 = x
        rel = torch.arange(T)[:, None] - torch.arange(T)[None, :]
        idx = torch.clamp(log_bucket(rel, self.span, self.max_rel) + self.span, 0, 2 * self.span - 1)  # [T, T]
        R = self.encoder.LayerNorm(self.encoder.rel_embeddings.weight)
        hd = D // H
        scale = math.sqrt(hd * 3)
        allowed = (mask[:, None, :, None] * mask[:, None, None, :]).bool()  # XSoftmax's mask: query and key both real
        heads = lambda t: t.view(t.shape[0], -1, H, hd).transpose(1, 2)   # [B, H, T, hd]
        for i, l in enumerate(self.encoder.layer):
            s = l.attention.self
            q, k, v = heads(s.query_proj(x)), heads(s.key_proj(x)), heads(s.value_proj(x))
            pq, pk = heads(s.query_proj(R).unsqueeze(0))[0], heads(s.key_proj(R).unsqueeze(0))[0]  # [H, 2span, hd]
            scores = q @ k.transpose(-1, -2) / scale
            c2p = torch.gather(q @ pk.transpose(-1, -2), -1, idx.expand(B, H, T, T))
            p2c_pos = torch.clamp(-log_bucket(rel, self.span, self.max_rel) + self.span, 0, 2 * self.span - 1)  # as DeBERTa gathers it
            p2c = torch.gather(k @ pq.transpose(-1, -2), -1, p2c_pos.expand(B, H, T, T)).transpose(-1, -2)
            scores = scores + (c2p + p2c) / scale
            p = torch.softmax(scores.masked_fill(~allowed, torch.finfo(scores.dtype).min), -1).masked_fill(~allowed, 0)
            c = (p @ v).transpose(1, 2).reshape(B, T, D)
            a = l.attention.output.LayerNorm(l.attention.output.dense(c) + x)
            x = l.output.LayerNorm(l.output.dense(gelu(l.intermediate.dense(a))) + a)
            if i == 0 and hasattr(self.encoder, "conv"):  # ConvLayer.forward: conv over the embeddings, masked, activated, added, normed, masked
                out = self.encoder.conv.conv(x0.permute(0, 2, 1)).permute(0, 2, 1)
                out = out.masked_fill((1 - mask).bool().unsqueeze(-1), 0)
                out = gelu(out) if self.conv_act == "gelu" else torch.tanh(out)
                x = self.encoder.conv.LayerNorm(x + out) * mask.unsqueeze(-1)
        return x, None


DEBERTA_PIECES = json.load(open("deberta-tokenizer/tokenizer_reference.json", encoding="utf-8"))["pieces"]
deberta_config = {"model_type": "deberta-v2", "vocab_size": DEBERTA_PIECES + 1, "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
                  "intermediate_size": F, "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
                  "max_position_embeddings": P, "type_vocab_size": 0, "layer_norm_eps": 1e-7, "relative_attention": True,
                  "max_relative_positions": 12, "position_buckets": 6, "pos_att_type": ["p2c", "c2p"], "share_att_key": True,
                  "norm_rel_ebd": "layer_norm", "position_biased_input": False, "pooler_hidden_size": D, "pooler_dropout": 0,
                  "pooler_hidden_act": "gelu", "pad_token_id": 0, "architectures": ["DebertaV2Model"]}
torch.manual_seed(31)
deberta = DebertaV2(DEBERTA_PIECES + 1, 6, 12)
deberta_ids = torch.tensor([[1, 15, 14, 5, 22, 6, 8, 16, 18, 12, 31, 2], [1, 40, 41, 60, 2, 0, 0, 0, 0, 0, 0, 0], [1, 7, 9, 11, 13, 17, 19, 23, 29, 2, 0, 0]])
# DeBERTa-v3's released checkpoints also store an unused embeddings.position_embeddings table, which transformers ignores.
unused_positions = ("F32", torch.randn(P, D, generator=torch.Generator().manual_seed(32)))
make("deberta", deberta, deberta_config, "F32", ids=deberta_ids, pad=0, vocab=["unused"], extra={"embeddings.position_embeddings.weight": unused_positions})
os.remove("deberta/vocab.txt")
shutil.copy("deberta-tokenizer/spm.model", "deberta/spm.model")

def context_pooler_classifier_folder(name, make_model, model_seed, head_seed, config, architecture, labels, ids):
    """A DeBERTa *ForSequenceClassification folder: an encoder of its own seed, the ContextPooler (pooler.dense + gelu on the
    first token) and classifier of another; its logits on ids (0 = padding) in expected.json."""
    global g
    torch.manual_seed(model_seed)
    model = make_model()
    randomize(model); round_to(model, torch.float32)
    g = torch.Generator().manual_seed(head_seed)
    head = {"pooler.dense.weight": rnd(D, D), "pooler.dense.bias": rnd(D, s=0.1), "classifier.weight": rnd(len(labels), D), "classifier.bias": rnd(len(labels), s=0.1)}
    mask = (ids != 0).long()
    with torch.no_grad():
        hidden, _ = model(ids, mask, torch.zeros_like(ids))
        logits = gelu(hidden[:, 0] @ head["pooler.dense.weight"].T + head["pooler.dense.bias"]) @ head["classifier.weight"].T + head["classifier.bias"]
    task_folder(name, "deberta.", model, head,
                dict(config, architectures=[architecture], id2label={str(i): l for i, l in enumerate(labels)}, label2id={l: i for i, l in enumerate(labels)}),
                {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": torch.zeros_like(ids).tolist(),
                    "logits": [round(float(v), 9) for v in logits.reshape(-1).tolist()]})
    export_task_onnx(name, "deberta.", model, head, lambda o, m, M: M("classifier")(gelu(M("pooler.dense")(o[0][:, 0]))), ids, 0)


rnd = lambda *shape, s=0.3: (s * torch.randn(*shape, generator=g)).to(torch.float32).to(torch.float64)
context_pooler_classifier_folder("deberta-classifier", lambda: DebertaV2(DEBERTA_PIECES + 1, 6, 12), 33, 34, deberta_config, "DebertaV2ForSequenceClassification",
                                 ["negative", "neutral", "positive"], deberta_ids)
shutil.copy("deberta-tokenizer/spm.model", "deberta-classifier/spm.model")

# DeBERTa's log bucket of every distance in -700..700, as PyTorch computes it, for DeBERTa-v3's settings (256 buckets out
# to 512) and the fixture's (6 out to 12): deberta/log_buckets.json.
json.dump({"offsets": list(range(-700, 701)),
           "v3": log_bucket(torch.arange(-700, 701), 256, 512).tolist(), "fixture": log_bucket(torch.arange(-700, 701), 6, 12).tolist()},
          open(os.path.join("deberta", "log_buckets.json"), "w"))

# DebertaV2ForMaskedLM (deberta-mlm/): the deberta/ encoder and lm_predictions.lm_head (dense + gelu + LayerNorm, then the
# word embeddings transposed and its own bias, DebertaV2LMPredictionHead); expected.json the logits of a batch whose
# first row is "the film was [MASK]" as deberta-tokenizer encodes it ([MASK] = the pieces' count).
sp_deberta = sentencepiece.SentencePieceProcessor(model_file="deberta-tokenizer/spm.model")
first = [1] + sp_deberta.encode("the film was") + [DEBERTA_PIECES, 2]
mlm_ids = torch.tensor([first + [0] * (12 - len(first)), [1, DEBERTA_PIECES, 14, 16, 34, DEBERTA_PIECES, 24, 40, 41, 60, 2, 0]])
mlm_mask = (mlm_ids != 0).long()
g = torch.Generator().manual_seed(35)
rnd = lambda *shape, s=0.3: (s * torch.randn(*shape, generator=g)).to(torch.float32).to(torch.float64)
lm = {"lm_predictions.lm_head.dense.weight": rnd(D, D), "lm_predictions.lm_head.dense.bias": rnd(D, s=0.1),
      "lm_predictions.lm_head.LayerNorm.weight": 1 + rnd(D, s=0.2), "lm_predictions.lm_head.LayerNorm.bias": rnd(D, s=0.1),
      "lm_predictions.lm_head.bias": rnd(DEBERTA_PIECES + 1, s=0.1)}
mlm_logits = masked_lm_logits(deberta, mlm_ids, mlm_mask, lm, "lm_predictions.lm_head.", gelu, 1e-7, "lm_predictions.lm_head.bias")
task_folder("deberta-mlm", "deberta.", deberta, lm,
            dict(deberta_config, architectures=["DebertaV2ForMaskedLM"]),
            {"input_ids": mlm_ids.tolist(), "attention_mask": mlm_mask.tolist(), "logits": [round(float(v), 9) for v in mlm_logits.reshape(-1).tolist()]})
shutil.copy("deberta-tokenizer/spm.model", "deberta-mlm/spm.model")


# ModernBERT (modeling_modernbert.py, eager attention), modernbert/: a bare ModernBertModel: word embeddings and a
# LayerNorm without bias, no absolute positions; pre-norm layers (layer 0 without attn_norm) with one Wqkv projection
# whose queries and keys turn by rotary positions (rotate_half; global_rope_theta in full-attention layers,
# local_rope_theta in sliding-window ones, where a query sees keys within local_attention / 2), Wo, then mlp_norm and the
# GeGLU Wi (input and gate halves) and Wo; every Linear and LayerNorm without bias; final_norm. Three layers, one full
# attention layer every two (layers 0 and 2), local_attention 4 (a window of 2 on each side) on sequences of 12, so the
# window cuts; BERT's vocab.txt. modernbert-classifier/: ModernBertForSequenceClassification (mean pooling over the mask,
# head.dense + gelu + head.norm, then classifier), 3 labels. modernbert-mlm/: ModernBertForMaskedLM (head, then the word
# embeddings as decoder with decoder.bias). Own seeds, last in the file.
class WeightOnlyNorm(nn.Module):  # nn.LayerNorm(bias=False), which PyTorch 1.13 lacks
    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(n)), eps

    def forward(self, x):
        return torch.nn.functional.layer_norm(x, self.weight.shape, self.weight, None, self.eps)


def rotary(x, theta):  # x [B, H, T, hd]: q * cos + rotate_half(q) * sin, angles formed in float32 as transformers forms them
    hd, T = x.shape[-1], x.shape[-2]
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = torch.arange(T).float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), -1).to(x.dtype)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * emb.cos() + torch.cat((-x2, x1), -1) * emb.sin()


class ModernBert(nn.Module):
    def __init__(self, layers=3, every=2, window=4, global_theta=160000.0, local_theta=10000.0, vocab=None):
        super().__init__()
        self.every, self.window, self.thetas = every, window, (global_theta, local_theta)
        self.embeddings = nn.Module()
        self.embeddings.tok_embeddings = nn.Embedding(vocab or V, D); self.embeddings.norm = WeightOnlyNorm(D)
        self.layers = nn.ModuleList()
        for i in range(layers):
            l = nn.Module()
            if i > 0: l.attn_norm = WeightOnlyNorm(D)
            l.attn = nn.Module(); l.attn.Wqkv = nn.Linear(D, 3 * D, bias=False); l.attn.Wo = nn.Linear(D, D, bias=False)
            l.mlp_norm = WeightOnlyNorm(D)
            l.mlp = nn.Module(); l.mlp.Wi = nn.Linear(D, 2 * F, bias=False); l.mlp.Wo = nn.Linear(F, D, bias=False)
            self.layers.append(l)
        self.final_norm = WeightOnlyNorm(D)

    def forward(self, ids, mask, types):
        B, T = ids.shape
        hd = D // H
        x = self.embeddings.norm(self.embeddings.tok_embeddings(ids))
        distance = (torch.arange(T)[:, None] - torch.arange(T)[None, :]).abs()
        for i, l in enumerate(self.layers):
            local = i % self.every != 0
            h = l.attn_norm(x) if i > 0 else x
            q, k, v = (t.transpose(1, 2) for t in l.attn.Wqkv(h).view(B, T, 3, H, hd).unbind(2))
            theta = self.thetas[1] if local else self.thetas[0]
            q, k = rotary(q, theta), rotary(k, theta)
            allowed = mask[:, None, None, :].bool()
            if local: allowed = allowed & (distance <= self.window // 2)[None, None]
            scores = (q @ k.transpose(-1, -2) / math.sqrt(hd)).masked_fill(~allowed, torch.finfo(x.dtype).min)
            c = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, T, D)
            x = x + l.attn.Wo(c)
            u, g = l.mlp.Wi(l.mlp_norm(x)).chunk(2, dim=-1)
            x = x + l.mlp.Wo(gelu(u) * g)
        return self.final_norm(x), None


def randomize_modernbert(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(1.0 + 0.2 * torch.randn_like(p) if "norm" in name else 0.3 * torch.randn_like(p))


modernbert_config = {"model_type": "modernbert", "architectures": ["ModernBertModel"], "vocab_size": V, "hidden_size": D, "num_hidden_layers": 3,
                     "num_attention_heads": H, "intermediate_size": F, "hidden_activation": "gelu", "max_position_embeddings": P, "norm_eps": 1e-5,
                     "norm_bias": False, "attention_bias": False, "mlp_bias": False, "classifier_bias": False, "decoder_bias": True,
                     "global_rope_theta": 160000.0, "local_rope_theta": 10000.0, "local_attention": 4, "global_attn_every_n_layers": 2,
                     "attention_dropout": 0.0, "embedding_dropout": 0.0, "mlp_dropout": 0.0, "classifier_dropout": 0.0, "classifier_pooling": "mean",
                     "classifier_activation": "gelu", "pad_token_id": 0, "cls_token_id": 2, "sep_token_id": 3, "tie_word_embeddings": True}
modernbert_ids = torch.tensor([[2, 8, 9, 12, 10, 30, 31, 15, 16, 17, 18, 3], [2, 15, 20, 7, 13, 3, 0, 0, 0, 0, 0, 0], [2, 5, 6, 7, 11, 19, 21, 22, 23, 3, 0, 0]])
torch.manual_seed(41)
modernbert = ModernBert()
make("modernbert", modernbert, modernbert_config, "F32", ids=modernbert_ids, pad=0, init=randomize_modernbert)  # its norms are named "norm"

torch.manual_seed(42)
cls_model = ModernBert()
randomize_modernbert(cls_model); round_to(cls_model, torch.float32)
g = torch.Generator().manual_seed(43)
rnd = lambda *shape, s=0.3: (s * torch.randn(*shape, generator=g)).to(torch.float32).to(torch.float64)
head = {"head.dense.weight": rnd(D, D), "head.norm.weight": 1 + rnd(D, s=0.2), "classifier.weight": rnd(3, D), "classifier.bias": rnd(3, s=0.1)}
mask = (modernbert_ids != 0).long()
with torch.no_grad():
    hidden, _ = cls_model(modernbert_ids, mask, torch.zeros_like(modernbert_ids))
    pooled = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    h = torch.nn.functional.layer_norm(gelu(pooled @ head["head.dense.weight"].T), (D,), head["head.norm.weight"], None, 1e-5)
    logits = h @ head["classifier.weight"].T + head["classifier.bias"]
task_folder("modernbert-classifier", "model.", cls_model, head,
            dict(modernbert_config, architectures=["ModernBertForSequenceClassification"], id2label={"0": "negative", "1": "neutral", "2": "positive"},
                label2id={"negative": 0, "neutral": 1, "positive": 2}),
            {"input_ids": modernbert_ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": torch.zeros_like(modernbert_ids).tolist(),
                "logits": [round(float(v), 9) for v in logits.reshape(-1).tolist()]})
open(os.path.join("modernbert-classifier", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
modernbert_head = lambda x, M: M("head.norm")(gelu(M("head.dense")(x)))  # ModernBertPredictionHead
export_task_onnx("modernbert-classifier", "model.", cls_model, head,
                 lambda o, m, M: M("classifier")(modernbert_head((o[0] * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True), M)), modernbert_ids, 0)

g = torch.Generator().manual_seed(44)
lm = {"head.dense.weight": rnd(D, D), "head.norm.weight": 1 + rnd(D, s=0.2), "decoder.bias": rnd(V, s=0.1)}
mlm_ids = torch.tensor([[2, 14, 11, 4, 23, 3, 0, 0, 0, 0, 0, 0], [2, 4, 8, 9, 12, 10, 4, 15, 16, 17, 18, 3]])
mlm_mask = (mlm_ids != 0).long()
with torch.no_grad():
    hidden, _ = modernbert(mlm_ids, mlm_mask, torch.zeros_like(mlm_ids))
    h = torch.nn.functional.layer_norm(gelu(hidden @ lm["head.dense.weight"].T), (D,), lm["head.norm.weight"], None, 1e-5)
    mlm_logits = h @ modernbert.embeddings.tok_embeddings.weight.T + lm["decoder.bias"]
task_folder("modernbert-mlm", "model.", modernbert, lm,
            dict(modernbert_config, architectures=["ModernBertForMaskedLM"]),
            {"input_ids": mlm_ids.tolist(), "attention_mask": mlm_mask.tolist(), "logits": [round(float(v), 9) for v in mlm_logits.reshape(-1).tolist()]})
open(os.path.join("modernbert-mlm", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")


# ModernBERT's tokenizer as its tokenizer.json holds it (modernbert-bpe/): an NFC normalizer (as GPT-NeoX's), a byte-level BPE model (GPT-2's bytes, the
# merges learned above) whose vocabulary starts with <|endoftext|> and <|padding|>, added tokens [UNK] [CLS] [SEP] [PAD]
# [MASK] after it ([MASK] with lstrip, taking the space before it), and a TemplateProcessing post-processor: [CLS] A [SEP]
# and [CLS] A [SEP] B [SEP] with type 1 for B. tokenizer_reference.json: the ids of texts and pairs, formed as
# openai/gpt-2's encoder.py forms a text's tokens and the template places the specials. With it a ModernBERT of that
# vocabulary (config and model.safetensors, own seed) and its ForMaskedLM head, whose logits for "the film was [MASK]." are
# expected.json's.
MB_VOCAB = {"<|endoftext|>": 0, "<|padding|>": 1}
for u in B2U.values(): MB_VOCAB.setdefault(u, len(MB_VOCAB))
for a, b in MERGES: MB_VOCAB.setdefault(a + b, len(MB_VOCAB))
MB_SPECIALS = {t: len(MB_VOCAB) + i for i, t in enumerate(["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"])}
MB_V = len(MB_VOCAB) + len(MB_SPECIALS)
added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True} for t, i in [("<|endoftext|>", 0), ("<|padding|>", 1)]]
added += [{"id": i, "content": t, "single_word": False, "lstrip": t == "[MASK]", "rstrip": False, "normalized": False, "special": True} for t, i in MB_SPECIALS.items()]
special = lambda t, type_id=0: {"SpecialToken": {"id": t, "type_id": type_id}}
sequence = lambda s, type_id=0: {"Sequence": {"id": s, "type_id": type_id}}
tokenizer_json = {
    "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": {"type": "TemplateProcessing", "single": [special("[CLS]"), sequence("A"), special("[SEP]")],
                       "pair": [special("[CLS]"), sequence("A"), special("[SEP]"), sequence("B", 1), special("[SEP]", 1)],
                       "special_tokens": {t: {"id": t, "ids": [MB_SPECIALS[t]], "tokens": [t]} for t in ["[CLS]", "[SEP]"]}},
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
              "byte_fallback": False, "ignore_merges": False, "vocab": MB_VOCAB, "merges": [[a, b] for a, b in MERGES]}}
os.makedirs("modernbert-bpe", exist_ok=True)
json.dump(tokenizer_json, open("modernbert-bpe/tokenizer.json", "w", encoding="utf-8"), ensure_ascii=False)
json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "mask_token": "[MASK]",
           "unk_token": "[UNK]", "model_max_length": 8192}, open("modernbert-bpe/tokenizer_config.json", "w"))
mb_ids = lambda t: [MB_VOCAB[x] for w in words(t) for x in bpe(w, RANKS)]
pairs = [("the film was great", "I loved it!"), ("Café crème", "12.5% of $3,456")]
json.dump({"texts": texts, "ids": [[MB_SPECIALS["[CLS]"]] + mb_ids(t) + [MB_SPECIALS["[SEP]"]] for t in texts],
           "pairs": [list(p) for p in pairs],
           "pair_ids": [[MB_SPECIALS["[CLS]"]] + mb_ids(a) + [MB_SPECIALS["[SEP]"]] + mb_ids(b) + [MB_SPECIALS["[SEP]"]] for a, b in pairs],
           "pair_types": [[0] * (len(mb_ids(a)) + 2) + [1] * (len(mb_ids(b)) + 1) for a, b in pairs]},
          open("modernbert-bpe/tokenizer_reference.json", "w", encoding="utf-8"), ensure_ascii=False)
torch.manual_seed(45)
mb = ModernBert(vocab=MB_V)
randomize_modernbert(mb); round_to(mb, torch.float32)
g = torch.Generator().manual_seed(46)
lm = {"head.dense.weight": rnd(D, D), "head.norm.weight": 1 + rnd(D, s=0.2), "decoder.bias": rnd(MB_V, s=0.1)}
first = [MB_SPECIALS["[CLS]"]] + mb_ids("the film was") + [MB_SPECIALS["[MASK]"]] + mb_ids(".") + [MB_SPECIALS["[SEP]"]]
mb_mlm_ids = torch.tensor([first])
with torch.no_grad():
    hidden, _ = mb(mb_mlm_ids, torch.ones_like(mb_mlm_ids), torch.zeros_like(mb_mlm_ids))
    h = torch.nn.functional.layer_norm(gelu(hidden @ lm["head.dense.weight"].T), (D,), lm["head.norm.weight"], None, 1e-5)
    mb_logits = h @ mb.embeddings.tok_embeddings.weight.T + lm["decoder.bias"]
tensors = {"model." + n0: ("F32", t.detach()) for n0, t in mb.named_parameters()}
tensors.update({k: ("F32", v) for k, v in lm.items()})
write_safetensors(os.path.join("modernbert-bpe", "model.safetensors"), tensors, {"format": "pt"})
json.dump(dict(modernbert_config, vocab_size=MB_V, pad_token_id=MB_SPECIALS["[PAD]"], cls_token_id=MB_SPECIALS["[CLS]"], sep_token_id=MB_SPECIALS["[SEP]"],
               architectures=["ModernBertForMaskedLM"]), open(os.path.join("modernbert-bpe", "config.json"), "w"), indent=2)
json.dump({"text": "the film was [MASK].", "input_ids": mb_mlm_ids.tolist(), "logits": [round(float(v), 9) for v in mb_logits.reshape(-1).tolist()]},
          open(os.path.join("modernbert-bpe", "expected.json"), "w"))


def pooler_classifier_folder(name, prefix, model, config, architecture, labels, ids, types, head_seed):
    """A *ForSequenceClassification folder with BERT's head: the encoder's pooler (dense + tanh on the first token), then a
    classifier of its own seed; its logits on ids (0 = padding) in expected.json, BERT's vocab.txt beside it."""
    global g
    g = torch.Generator().manual_seed(head_seed)
    d = model.pooler.dense.weight.shape[0]
    head = {"classifier.weight": rnd(len(labels), d), "classifier.bias": rnd(len(labels), s=0.1)}
    mask = (ids != 0).long()
    with torch.no_grad():
        _, pooled = model(ids, mask, types)
        logits = pooled @ head["classifier.weight"].T + head["classifier.bias"]
    task_folder(name, prefix, model, head,
                dict(config, architectures=[architecture], id2label={str(i): l for i, l in enumerate(labels)}, label2id={l: i for i, l in enumerate(labels)}),
                {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(),
                    "logits": [round(float(v), 9) for v in logits.reshape(-1).tolist()]})
    open(os.path.join(name, "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
    export_task_onnx(name, prefix, model, head, lambda o, m, M: M("classifier")(o[1]), ids, 0, types=types if config.get("type_vocab_size", 2) > 0 else None)


# NomicBERT (nomic-embed-text's modeling_hf_nomic_bert.py, as its checkpoints name the tensors), nomic/: a bare
# NomicBertModel with its pooler: word and token-type embeddings, emb_ln, post-norm layers (norm1 after attention, norm2
# after the MLP) whose one Wqkv projection's queries and keys turn by rotary positions (rotary_emb_base 1000, rotate-half),
# SwiGLU blocks (fc11(x) * silu(fc12(x)), then fc2; 256 wide, as NomciBertGatedMLP rounds widths up to a multiple of 256),
# every Linear without bias and the LayerNorms with; the embedding is
# rounded up to a multiple of pad_vocab_size_multiple (48 rows for BERT's 40-token vocab.txt). nomic-classifier/:
# NomicBertForSequenceClassification (pooler.dense + tanh on the first token, then classifier), 2 labels. Own seeds.
class NomicBert(nn.Module):
    def __init__(self, rows=48, layers=2, base=1000.0, ffn=256):
        super().__init__()
        self.base = base
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(rows, D); self.embeddings.token_type_embeddings = nn.Embedding(2, D)
        self.emb_ln = nn.LayerNorm(D, eps=1e-12)
        self.encoder = nn.Module(); self.encoder.layers = nn.ModuleList()
        for _ in range(layers):
            l = nn.Module()
            l.attn = nn.Module(); l.attn.Wqkv = nn.Linear(D, 3 * D, bias=False); l.attn.out_proj = nn.Linear(D, D, bias=False)
            l.mlp = nn.Module(); l.mlp.fc11 = nn.Linear(D, ffn, bias=False); l.mlp.fc12 = nn.Linear(D, ffn, bias=False); l.mlp.fc2 = nn.Linear(ffn, D, bias=False)
            l.norm1 = nn.LayerNorm(D, eps=1e-12); l.norm2 = nn.LayerNorm(D, eps=1e-12)
            self.encoder.layers.append(l)
        self.pooler = nn.Module(); self.pooler.dense = nn.Linear(D, D)

    def forward(self, ids, mask, types):
        B, T = ids.shape
        hd = D // H
        x = self.emb_ln(self.embeddings.word_embeddings(ids) + self.embeddings.token_type_embeddings(types))
        for l in self.encoder.layers:
            q, k, v = (t.transpose(1, 2) for t in l.attn.Wqkv(x).view(B, T, 3, H, hd).unbind(2))
            q, k = rotary(q, self.base), rotary(k, self.base)
            scores = (q @ k.transpose(-1, -2) / math.sqrt(hd)).masked_fill(~mask[:, None, None, :].bool(), torch.finfo(x.dtype).min)
            c = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, T, D)
            x = l.norm1(l.attn.out_proj(c) + x)
            h = l.mlp.fc11(x) * torch.nn.functional.silu(l.mlp.fc12(x))
            x = l.norm2(l.mlp.fc2(h) + x)
        return x, torch.tanh(self.pooler.dense(x[:, 0]))


nomic_config = {"model_type": "nomic_bert", "architectures": ["NomicBertModel"], "vocab_size": 48, "pad_vocab_size_multiple": 16, "n_embd": D, "n_head": H,
                "n_layer": 2, "n_inner": 256, "n_positions": P, "type_vocab_size": 2, "activation_function": "swiglu", "rotary_emb_fraction": 1.0,
                "rotary_emb_base": 1000, "rotary_emb_interleaved": False, "rotary_emb_scale_base": None, "rotary_scaling_factor": None, "qkv_proj_bias": False,
                "mlp_fc1_bias": False, "mlp_fc2_bias": False, "prenorm": False, "causal": False, "layer_norm_epsilon": 1e-12, "resid_pdrop": 0.0,
                "embd_pdrop": 0.0, "attn_pdrop": 0.0, "max_trained_positions": P, "use_rms_norm": False}
torch.manual_seed(51)
nomic = NomicBert()
nomic_ids = torch.tensor([[2, 8, 9, 12, 10, 30, 31, 15, 16, 17, 18, 3], [2, 15, 20, 7, 13, 3, 0, 0, 0, 0, 0, 0], [2, 5, 6, 7, 3, 19, 21, 22, 23, 3, 0, 0]])
make("nomic", nomic, nomic_config, "F32", ids=nomic_ids, pad=0)

torch.manual_seed(52)
cls_model = NomicBert()
randomize(cls_model); round_to(cls_model, torch.float32)
pooler_classifier_folder("nomic-classifier", "bert.", cls_model, nomic_config, "NomicBertForSequenceClassification", ["NEGATIVE", "POSITIVE"], nomic_ids,
                         torch.tensor([[0] * 12, [0] * 12, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0]]), head_seed=53)


# JinaBERT (jina-embeddings-v2's JinaBertModel from jinaai/jina-bert-implementation, model_type bert with
# position_embedding_type alibi), jina/: a bare JinaBertModel with its pooler: word and token-type embeddings and their
# LayerNorm, no position table; ALiBi on every score (slopes * -1 in float32 times |i - j|, added after the scale as its
# encoder's alibi tensor is); BERT's post-norm attention; GeGLU blocks (gelu of mlp.gated_layers' first half, which has no
# bias, times its second half, then mlp.wo and mlp.layernorm after the residual). 6 heads, so the slopes take the
# non-power-of-two path; 64 rows for BERT's 40-token vocab.txt (a multiple of 64, as jina-embeddings-v2's 30,528 for
# 30,522). alibi_slopes.json: the slopes of 1..32 heads. jina-classifier/: JinaBertForSequenceClassification (BERT's
# pooler and classifier), 2 labels, emb_pooler mean as the released configs say. jina-mlm/: JinaBertForMaskedLM (BERT's
# cls.predictions, the decoder tied). Own seeds.
def alibi_slopes(n):
    def power_of_2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer(): return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + alibi_slopes(2 * closest)[0::2][: n - closest]


JD, JH, JF = 24, 6, 32


class JinaBert(nn.Module):
    def __init__(self, rows=64, layers=2):
        super().__init__()
        e = nn.Module(); e.word_embeddings = nn.Embedding(rows, JD); e.token_type_embeddings = nn.Embedding(2, JD); e.LayerNorm = nn.LayerNorm(JD, eps=1e-12)
        self.embeddings = e
        self.encoder = nn.Module(); self.encoder.layer = nn.ModuleList()
        for _ in range(layers):
            l = nn.Module(); l.attention = nn.Module(); l.attention.self = nn.Module(); l.attention.output = nn.Module()
            l.attention.self.query = nn.Linear(JD, JD); l.attention.self.key = nn.Linear(JD, JD); l.attention.self.value = nn.Linear(JD, JD)
            l.attention.output.dense = nn.Linear(JD, JD); l.attention.output.LayerNorm = nn.LayerNorm(JD, eps=1e-12)
            l.mlp = nn.Module(); l.mlp.gated_layers = nn.Linear(JD, 2 * JF, bias=False); l.mlp.wo = nn.Linear(JF, JD); l.mlp.layernorm = nn.LayerNorm(JD, eps=1e-12)
            self.encoder.layer.append(l)
        self.pooler = nn.Module(); self.pooler.dense = nn.Linear(JD, JD)

    def forward(self, ids, mask, types):
        B, T = ids.shape
        hd = JD // JH
        e = self.embeddings
        x = e.LayerNorm(e.word_embeddings(ids) + e.token_type_embeddings(types))
        pos = torch.arange(T)
        slopes = torch.tensor(alibi_slopes(JH), dtype=torch.float32) * -1
        alibi = (slopes[:, None, None] * (pos[None, :] - pos[:, None]).abs().to(torch.float32)).to(x.dtype)  # [H, T, T]
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for l in self.encoder.layer:
            q, k, v = self.qkv(l.attention.self, x, B, T)  # each [B, H, T, hd]
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias + alibi, -1)
            c = (a @ v).transpose(1, 2).reshape(B, T, JD)
            x = l.attention.output.LayerNorm(x + l.attention.output.dense(c))
            h = l.mlp.gated_layers(x)
            x = l.mlp.layernorm(x + l.mlp.wo(gelu(h[..., :JF]) * h[..., JF:]))
        return x, torch.tanh(self.pooler.dense(x[:, 0]))

    def qkv(self, s, x, B, T):
        return (m(x).view(B, T, JH, JD // JH).transpose(1, 2) for m in (s.query, s.key, s.value))


jina_config = {"model_type": "bert", "architectures": ["JinaBertModel"], "vocab_size": 64, "hidden_size": JD, "num_hidden_layers": 2,
               "num_attention_heads": JH, "intermediate_size": JF, "hidden_act": "gelu", "max_position_embeddings": 32, "type_vocab_size": 2,
               "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "position_embedding_type": "alibi",
               "feed_forward_type": "geglu", "attn_implementation": "torch", "pad_token_id": 0}
torch.manual_seed(61)
jina = JinaBert()
jina_ids = torch.tensor([[2, 8, 9, 12, 10, 30, 31, 15, 16, 17, 18, 3], [2, 15, 20, 7, 13, 3, 0, 0, 0, 0, 0, 0], [2, 5, 6, 7, 3, 19, 21, 22, 23, 3, 0, 0]])
make("jina", jina, jina_config, "F32", ids=jina_ids, pad=0)
json.dump({"heads": list(range(1, 33)), "slopes": [[float(torch.tensor(s, dtype=torch.float32)) for s in alibi_slopes(n)] for n in range(1, 33)]},
          open(os.path.join("jina", "alibi_slopes.json"), "w"))

torch.manual_seed(62)
cls_model = JinaBert()
randomize(cls_model); round_to(cls_model, torch.float32)
pooler_classifier_folder("jina-classifier", "bert.", cls_model, dict(jina_config, emb_pooler="mean"), "JinaBertForSequenceClassification", ["NEGATIVE", "POSITIVE"],
                         jina_ids, torch.tensor([[0] * 12, [0] * 12, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0]]), head_seed=63)

g = torch.Generator().manual_seed(64)
lm = {"cls.predictions.transform.dense.weight": rnd(JD, JD), "cls.predictions.transform.dense.bias": rnd(JD, s=0.1),
      "cls.predictions.transform.LayerNorm.weight": 1 + rnd(JD, s=0.2), "cls.predictions.transform.LayerNorm.bias": rnd(JD, s=0.1), "cls.predictions.bias": rnd(64, s=0.1)}
mlm_ids = torch.tensor([[2, 14, 11, 4, 23, 3, 0, 0, 0, 0, 0, 0], [2, 4, 8, 9, 12, 10, 4, 15, 16, 17, 18, 3]])
mlm_mask = (mlm_ids != 0).long()
with torch.no_grad():
    hidden, _ = jina(mlm_ids, mlm_mask, torch.zeros_like(mlm_ids))
    h = torch.nn.functional.layer_norm(gelu(hidden @ lm["cls.predictions.transform.dense.weight"].T + lm["cls.predictions.transform.dense.bias"]), (JD,),
                                       lm["cls.predictions.transform.LayerNorm.weight"], lm["cls.predictions.transform.LayerNorm.bias"], 1e-12)
    mlm_logits = h @ jina.embeddings.word_embeddings.weight.T + lm["cls.predictions.bias"]
task_folder("jina-mlm", "bert.", jina, lm, dict(jina_config, architectures=["JinaBertForMaskedLM"]),  # built without a pooler, as JinaBertForMaskedLM is
            {"input_ids": mlm_ids.tolist(), "attention_mask": mlm_mask.tolist(), "logits": [round(float(v), 9) for v in mlm_logits.reshape(-1).tolist()]}, leave_out="pooler.")
open(os.path.join("jina-mlm", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")


# GTE v1.5 (Alibaba-NLP/new-impl's modeling.py, model_type new), gte/: a bare NewModel (no pooler, as NewModel is built
# by default): word embeddings and their LayerNorm, no token types (type_vocab_size 0, as gte-base-en-v1.5's), rotary
# positions with NTK scaling (rope_theta 1000, rope_scaling ntk factor 2: the frequencies of base * 2 divided by
# 2^(2 / hd), at every length, as its NTKScalingRotaryEmbedding sets them in float32), post-norm layers with one
# attention.qkv_proj and attention.o_proj, the gated mlp.up_gate_proj (no bias; up, then the gate, which is activated:
# gelu(gate) * up) and mlp.down_proj, attn_ln and mlp_ln; 64 rows for BERT's 40-token vocab.txt. gte-classifier/:
# NewForSequenceClassification (new.pooler.dense + tanh on the first token, then classifier), 3 labels. gte-mlm/:
# NewForMaskedLM (lm_head.dense + gelu + lm_head.norm, the decoder tied, lm_head.decoder.bias). Own seeds.
def ntk_rotary(x, theta, factor):  # x [B, H, T, hd]
    hd, T = x.shape[-1], x.shape[-2]
    inv_freq = 1.0 / ((theta * factor) ** (torch.arange(0, hd, 2).float() / hd))
    inv_freq = inv_freq / factor ** (2 / hd)
    freqs = torch.einsum("i,j->ij", torch.arange(T, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), -1).to(x.dtype)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * emb.cos() + torch.cat((-x2, x1), -1) * emb.sin()


GF = 24


class Gte(nn.Module):
    def __init__(self, rows=64, layers=2, pooler=False, theta=1000.0, factor=2.0):
        super().__init__()
        self.theta, self.factor = theta, factor
        e = nn.Module(); e.word_embeddings = nn.Embedding(rows, D); e.LayerNorm = nn.LayerNorm(D, eps=1e-12)
        self.embeddings = e
        self.encoder = nn.Module(); self.encoder.layer = nn.ModuleList()
        for _ in range(layers):
            l = nn.Module(); l.attention = nn.Module()
            l.attention.qkv_proj = nn.Linear(D, 3 * D); l.attention.o_proj = nn.Linear(D, D)
            l.mlp = nn.Module(); l.mlp.up_gate_proj = nn.Linear(D, 2 * GF, bias=False); l.mlp.down_proj = nn.Linear(GF, D)
            l.attn_ln = nn.LayerNorm(D, eps=1e-12); l.mlp_ln = nn.LayerNorm(D, eps=1e-12)
            self.encoder.layer.append(l)
        if pooler:
            self.pooler = nn.Module(); self.pooler.dense = nn.Linear(D, D)

    def forward(self, ids, mask, types):
        B, T = ids.shape
        hd = D // H
        x = self.embeddings.LayerNorm(self.embeddings.word_embeddings(ids))
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for l in self.encoder.layer:
            q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in l.attention.qkv_proj(x).split(D, dim=-1))
            q, k = ntk_rotary(q, self.theta, self.factor), ntk_rotary(k, self.theta, self.factor)
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, -1)
            x = l.attn_ln(x + l.attention.o_proj((a @ v).transpose(1, 2).reshape(B, T, D)))
            up, gate = torch.split(l.mlp.up_gate_proj(x), GF, dim=-1)
            x = l.mlp_ln(x + l.mlp.down_proj(gelu(gate) * up))
        return x, (torch.tanh(self.pooler.dense(x[:, 0])) if hasattr(self, "pooler") else None)


gte_config = {"model_type": "new", "architectures": ["NewModel"], "vocab_size": 64, "hidden_size": D, "num_hidden_layers": 2, "num_attention_heads": H,
              "intermediate_size": GF, "hidden_act": "gelu", "max_position_embeddings": 32, "type_vocab_size": 0, "layer_norm_type": "layer_norm",
              "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "position_embedding_type": "rope",
              "rope_theta": 1000.0, "rope_scaling": {"type": "ntk", "factor": 2.0}, "pack_qkv": True, "logn_attention_scale": False,
              "logn_attention_clip1": False, "unpad_inputs": False, "use_memory_efficient_attention": False, "pad_token_id": 0}
torch.manual_seed(71)
gte = Gte()
gte_ids = torch.tensor([[2, 8, 9, 12, 10, 30, 31, 15, 16, 17, 18, 3], [2, 15, 20, 7, 13, 3, 0, 0, 0, 0, 0, 0], [2, 5, 6, 7, 3, 19, 21, 22, 23, 3, 0, 0]])
make("gte", gte, gte_config, "F32", ids=gte_ids, pad=0)

torch.manual_seed(72)
cls_model = Gte(pooler=True)
randomize(cls_model); round_to(cls_model, torch.float32)
pooler_classifier_folder("gte-classifier", "new.", cls_model, gte_config, "NewForSequenceClassification", ["negative", "neutral", "positive"],
                         gte_ids, torch.zeros_like(gte_ids), head_seed=73)

g = torch.Generator().manual_seed(74)
lm = {"lm_head.dense.weight": rnd(D, D), "lm_head.dense.bias": rnd(D, s=0.1), "lm_head.norm.weight": 1 + rnd(D, s=0.2), "lm_head.norm.bias": rnd(D, s=0.1),
      "lm_head.decoder.bias": rnd(64, s=0.1)}
mlm_ids = torch.tensor([[2, 14, 11, 4, 23, 3, 0, 0, 0, 0, 0, 0], [2, 4, 8, 9, 12, 10, 4, 15, 16, 17, 18, 3]])
mlm_mask = (mlm_ids != 0).long()
with torch.no_grad():
    hidden, _ = gte(mlm_ids, mlm_mask, torch.zeros_like(mlm_ids))
    h = torch.nn.functional.layer_norm(gelu(hidden @ lm["lm_head.dense.weight"].T + lm["lm_head.dense.bias"]), (D,), lm["lm_head.norm.weight"], lm["lm_head.norm.bias"], 1e-12)
    mlm_logits = h @ gte.embeddings.word_embeddings.weight.T + lm["lm_head.decoder.bias"]
task_folder("gte-mlm", "new.", gte, lm, dict(gte_config, architectures=["NewForMaskedLM"]),
            {"input_ids": mlm_ids.tolist(), "attention_mask": mlm_mask.tolist(), "logits": [round(float(v), 9) for v in mlm_logits.reshape(-1).tolist()]})
open(os.path.join("gte-mlm", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")


# The same bare ModernBERT, NomicBERT, JinaBERT and GTE models exported by PyTorch's ONNX exporter (float32, opset 14,
# dynamic batch and length) as <fixture>/model.onnx beside their config.json and vocab.txt, the layout of a Hugging Face
# folder's ONNX export: their projections have no biases to name them by (or are packed), so the reader takes their
# names from the exporter's module scopes (/encoder/layers.0/attn/Wqkv/MatMul) and their shape from config.json.
def export_onnx(name, model, types):
    import copy, types as pytypes
    m = copy.deepcopy(model).float().eval()
    forward = m.forward
    m.forward = pytypes.MethodType(lambda self, ids, mask, *t: forward(ids, mask, t[0] if t else torch.zeros_like(ids))[0], m)
    ids = torch.tensor([[2, 8, 9, 12, 10, 3], [2, 15, 20, 3, 0, 0]])
    inputs, names = (ids, (ids != 0).long()), ["input_ids", "attention_mask"]
    if types: inputs, names = inputs + (torch.zeros_like(ids),), names + ["token_type_ids"]
    torch.onnx.export(m, inputs, os.path.join(name, "model.onnx"), input_names=names, output_names=["last_hidden_state"], opset_version=14,
                      dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]})


torch.set_default_dtype(torch.float32)
export_onnx("modernbert", modernbert, types=False)
export_onnx("nomic", nomic, types=True)
export_onnx("jina", jina, types=True)
export_onnx("gte", gte, types=False)


# A sentence-transformers folder with a Dense module after the pooling, as distiluse-base-multilingual-cased and LaBSE are
# saved (st-dense/): a bare BertModel (no prefix) with modules.json (Transformer, Pooling over [CLS], Dense 16 -> 12 with
# tanh, Normalize), 1_Pooling/config.json, 2_Dense/config.json and 2_Dense/model.safetensors (linear.weight, linear.bias).
# expected.json: the sentence embeddings of a batch as sentence-transformers computes them (the first token's state, the
# linear layer, tanh, x / max(|x|, 1e-12)), and CosineSimilarityLoss on its two pairs (rows 0-1 against rows 2-3: the mean
# of (cos - target)^2) with its gradient with respect to every parameter, the Dense module's included. Own generator, last.
torch.set_default_dtype(torch.float64)
g = torch.Generator().manual_seed(31)
st_bert, st_dense = Bert(), nn.Linear(D, 12)
with torch.no_grad():
    for name, p in list(st_bert.named_parameters()) + [("dense." + n, p) for n, p in st_dense.named_parameters()]:
        p.copy_(((1.0 if name.endswith("weight") else 0.0) if "LayerNorm" in name else 0.0) + (0.2 if "LayerNorm" in name else 0.3) * torch.randn(p.shape, generator=g))
round_to(st_bert, torch.float32); round_to(st_dense, torch.float32)
os.makedirs(os.path.join("st-dense", "1_Pooling"), exist_ok=True); os.makedirs(os.path.join("st-dense", "2_Dense"), exist_ok=True)
write_safetensors(os.path.join("st-dense", "model.safetensors"), {n: ("F32", p.detach()) for n, p in st_bert.named_parameters()}, {"format": "pt"})
write_safetensors(os.path.join("st-dense", "2_Dense", "model.safetensors"), {"linear." + n: ("F32", p.detach()) for n, p in st_dense.named_parameters()}, {"format": "pt"})
json.dump(dict(bert_config, architectures=["BertModel"]), open(os.path.join("st-dense", "config.json"), "w"), indent=2)
open(os.path.join("st-dense", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
           {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
           {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
           {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"}], open(os.path.join("st-dense", "modules.json"), "w"))
json.dump({"word_embedding_dimension": D, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
           "pooling_mode_mean_sqrt_len_tokens": False}, open(os.path.join("st-dense", "1_Pooling", "config.json"), "w"))
json.dump({"in_features": D, "out_features": 12, "bias": True, "activation_function": "torch.nn.modules.activation.Tanh"},
          open(os.path.join("st-dense", "2_Dense", "config.json"), "w"))
ids = torch.tensor([[2, 8, 9, 12, 10, 3, 0, 0, 0], [2, 15, 20, 7, 13, 11, 19, 30, 3], [2, 5, 3, 0, 0, 0, 0, 0, 0], [2, 9, 10, 16, 3, 0, 0, 0, 0]])
mask, types, targets = (ids != 0).long(), torch.zeros_like(ids), torch.tensor([0.3, -0.2])
hidden, _ = st_bert(ids, mask, types)
vectors = torch.tanh(st_dense(hidden[:, 0]))
embeddings = vectors / vectors.norm(dim=1, keepdim=True).clamp(min=1e-12)
loss = ((torch.cosine_similarity(vectors[:2], vectors[2:], dim=1, eps=1e-12) - targets) ** 2).mean()
loss.backward()
r = lambda t: [round(float(v), 9) for v in t.reshape(-1).tolist()]
json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "targets": targets.tolist(), "embeddings": r(embeddings.detach()), "loss": float(loss),
           "grads": dict({n: r(p.grad) for n, p in st_bert.named_parameters() if p.grad is not None}, **{"linear." + n: r(p.grad) for n, p in st_dense.named_parameters()})},
          open(os.path.join("st-dense", "expected.json"), "w"))


# MosaicBERT (mosaicml/mosaic-bert-base's bert_layers.py; DNABERT-2 runs the same code), mosaic/: model_type bert with
# alibi_starting_size (its position_embedding_type stays "absolute", which its code ignores): JinaBERT's architecture
# with one query-key-value projection, attention.self.Wqkv, whose output the code rearranges as
# (t h d) with t = 3: the queries, then the keys, then the values. Word and token-type embeddings and their LayerNorm, no
# position table, ALiBi on every score, post-norm attention, GeGLU blocks (exact GELU of mlp.gated_layers' first half,
# which has no bias, times its second, mlp.wo, mlp.layernorm). 64 rows, as its 30,528 for BERT's 30,522. Own seeds, last.
class MosaicBert(JinaBert):
    def __init__(self):
        super().__init__()
        for l in self.encoder.layer:
            s = l.attention.self
            del s.query, s.key, s.value
            s.Wqkv = nn.Linear(JD, 3 * JD)

    def qkv(self, s, x, B, T):
        qkv = s.Wqkv(x).view(B, T, 3, JH, JD // JH)  # 'b s (t h d) -> b s t h d'
        return (qkv[:, :, i].transpose(1, 2) for i in range(3))


mosaic_config = {"model_type": "bert", "architectures": ["BertForMaskedLM"], "alibi_starting_size": 512, "vocab_size": 64, "hidden_size": JD,
                 "num_hidden_layers": 2, "num_attention_heads": JH, "intermediate_size": JF, "hidden_act": "gelu", "max_position_embeddings": 32,
                 "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
                 "position_embedding_type": "absolute", "pad_token_id": 0,
                 "auto_map": {"AutoConfig": "configuration_bert.BertConfig", "AutoModelForMaskedLM": "bert_layers.BertForMaskedLM"}}
torch.manual_seed(65)
mosaic = MosaicBert()
make("mosaic", mosaic, mosaic_config, "F32", ids=jina_ids, pad=0)

# mosaic-classifier/: its BertForSequenceClassification (BERT's pooler and classifier), 2 labels. Own seeds.
torch.manual_seed(66)
cls_model = MosaicBert()
randomize(cls_model); round_to(cls_model, torch.float32)
pooler_classifier_folder("mosaic-classifier", "bert.", cls_model, dict(mosaic_config, architectures=["BertForSequenceClassification"]), "BertForSequenceClassification",
                         ["NEGATIVE", "POSITIVE"], jina_ids, torch.tensor([[0] * 12, [0] * 12, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0]]), head_seed=67)

torch.set_default_dtype(torch.float32)
export_onnx("mosaic", mosaic, types=True)
torch.set_default_dtype(torch.float64)

# mosaic-mlm/: its BertForMaskedLM (cls.predictions: transform dense, GELU, LayerNorm, then the decoder Linear, whose
# weight is tied to the word embeddings and whose bias is cls.predictions.decoder.bias). Own generator.
g = torch.Generator().manual_seed(68)
lm = {"cls.predictions.transform.dense.weight": rnd(JD, JD), "cls.predictions.transform.dense.bias": rnd(JD, s=0.1),
      "cls.predictions.transform.LayerNorm.weight": 1 + rnd(JD, s=0.2), "cls.predictions.transform.LayerNorm.bias": rnd(JD, s=0.1), "cls.predictions.decoder.bias": rnd(64, s=0.1)}
with torch.no_grad():
    hidden, _ = mosaic(mlm_ids, mlm_mask, torch.zeros_like(mlm_ids))
    h = torch.nn.functional.layer_norm(gelu(hidden @ lm["cls.predictions.transform.dense.weight"].T + lm["cls.predictions.transform.dense.bias"]), (JD,),
                                       lm["cls.predictions.transform.LayerNorm.weight"], lm["cls.predictions.transform.LayerNorm.bias"], 1e-12)
    mlm_logits = h @ mosaic.embeddings.word_embeddings.weight.T + lm["cls.predictions.decoder.bias"]
task_folder("mosaic-mlm", "bert.", mosaic, lm, mosaic_config,  # built without a pooler, as its BertForMaskedLM is
            {"input_ids": mlm_ids.tolist(), "attention_mask": mlm_mask.tolist(), "logits": [round(float(v), 9) for v in mlm_logits.reshape(-1).tolist()]}, leave_out="pooler.")
open(os.path.join("mosaic-mlm", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")


# BPE tokenizer.json files that are not byte-level, as Hugging Face's tokenizers trains one in its quick tour (and as
# DNABERT-2's is): a BPE model over characters, [UNK] for a character outside its vocabulary, the specials placed by a
# TemplateProcessing post-processor ([CLS] A [SEP], pairs [CLS] A [SEP] B [SEP] with type 1 for B). bpe-tokenizer/: no
# normalizer and the Whitespace pre-tokenizer (runs of word characters and runs of other non-space characters; the word
# characters of Rust's regex \w: Alphabetic, Mark, Decimal_Number, Connector_Punctuation, Join_Control).
# bpe-tokenizer-subword/: a Lowercase normalizer (Rust's to_lowercase: İ as i + U+0307, a word-final Σ as ς), the
# WhitespaceSplit pre-tokenizer, continuing_subword_prefix "##", end_of_word_suffix "</w>" and fuse_unk. The merges are
# learned here; tokenizer_reference.json holds ids formed as tokenizers' models/bpe (model.rs merge_word, word.rs
# merge_all) forms them: a word's characters (the prefix on all but the first, the suffix on the last, unknown ones as
# [UNK], runs of them one [UNK] with fuse_unk), then the pair of lowest merge rank, leftmost first, merged until none is left.
HF_WORD = r"\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}"
HF_WHITESPACE = regex.compile(rf"[{HF_WORD}]+|[^{HF_WORD}\p{{White_Space}}]+")


def hf_pre_tokenize(text, kind):
    return HF_WHITESPACE.findall(text) if kind == "Whitespace" else [w for w in regex.split(r"\p{White_Space}+", text) if w]


def hf_symbols(word, vocab, prefix, suffix, fuse_unk, unk="[UNK]"):
    symbols = []  # token strings; None for an unknown character
    for i, c in enumerate(word):
        s = (prefix if i > 0 else "") + c + (suffix if i == len(word) - 1 else "")
        if s in vocab: symbols.append(s)
        elif not (fuse_unk and symbols and symbols[-1] is None): symbols.append(None)
    return symbols


def hf_bpe(word, vocab, ranks, prefix="", suffix="", fuse_unk=False):
    symbols = hf_symbols(word, vocab, prefix, suffix, fuse_unk)
    while True:
        candidates = [(ranks[(a, b)], j) for j, (a, b) in enumerate(zip(symbols, symbols[1:])) if a is not None and b is not None and (a, b) in ranks]
        if not candidates: break
        _, j = min(candidates)
        symbols[j:j + 2] = [symbols[j] + symbols[j + 1][len(prefix):]]
    return [vocab["[UNK]"] if s is None else vocab[s] for s in symbols]


def hf_learn(corpus_words, n, prefix="", suffix="", specials=("[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]")):
    counts = collections.Counter(corpus_words)
    vocab = {t: i for i, t in enumerate(specials)}
    words_ = {w: [(prefix if i > 0 else "") + c + (suffix if i == len(w) - 1 else "") for i, c in enumerate(w)] for w in counts}
    for s in sorted({s for w in words_.values() for s in w}): vocab.setdefault(s, len(vocab))
    merges = []
    for _ in range(n):
        pairs = collections.Counter()
        for w, syms in words_.items():
            for a, b in zip(syms, syms[1:]): pairs[(a, b)] += counts[w]
        if not pairs: break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        merged = best[0] + best[1][len(prefix):]
        vocab.setdefault(merged, len(vocab))
        for w, syms in words_.items():
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and (syms[i], syms[i + 1]) == best: out.append(merged); i += 2
                else: out.append(syms[i]); i += 1
            words_[w] = out
    return vocab, merges


def hf_lowercase(text):  # Rust's str::to_lowercase, as Python's str.lower (full mappings, Final_Sigma)
    return text.lower()


def bpe_tokenizer_json(vocab, merges, normalizer, pre_tokenizer, prefix, suffix, fuse_unk):
    special = lambda t, type_id=0: {"SpecialToken": {"id": t, "type_id": type_id}}
    sequence = lambda s, type_id=0: {"Sequence": {"id": s, "type_id": type_id}}
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True} for t in specials],
        "normalizer": normalizer, "pre_tokenizer": {"type": pre_tokenizer},
        "post_processor": {"type": "TemplateProcessing", "single": [special("[CLS]"), sequence("A"), special("[SEP]")],
                           "pair": [special("[CLS]"), sequence("A"), special("[SEP]"), sequence("B", 1), special("[SEP]", 1)],
                           "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ["[CLS]", "[SEP]"]}},
        "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": prefix, "end_of_word_suffix": suffix,
                  "fuse_unk": fuse_unk, "byte_fallback": False, "ignore_merges": False, "vocab": vocab, "merges": [[a, b] for a, b in merges]}}


BPE_CORPUS = CORPUS + (" Straße café naïve हिन्दी भाषा Ⅻ Ⓐⓑ snake_case 東京 𠀀𠀁 𝐀𝐁𝐂 ΟΔΟΣ σας İstanbul zero\u200djoiner "
                       "12.5% $3,456 — “quoted” it's") * 2 + " aⓑ Ⅻth 𝐂a_b a\u200db" * 6
BPE_TEXTS = ["the film was great and fun.", "I loved it, but the plot was DULL!", "Café crème naïve déjà vu Straße", "12.5% of $3,456 — “quoted”",
             "  leading spaces and trailing  ", "emoji 😀😀 and 東京 𠀀𠀁 𠀂", "it's the worst story i've seen", "tabs\tand\nnewlines\u3000ideographic",
             "हिन्दी भाषा", "Ⅻ Ⓐⓑ 𝐀𝐁𝐂 snake_case zero\u200djoiner", "ΟΔΟΣ ΣΑΣ. İstanbul", "x" * 120, "?!...", "",
             "caféⓐⓑ aⓑ Ⅻth 𝐂a_b भाषा: a😀b 東京, a_b! a\u200db—fun"]  # where word characters meet others
BPE_PAIRS = [("the film was great", "I loved it!"), ("Café crème", "12.5% of $3,456")]
for folder, normalizer, pre, prefix, suffix, fuse in [("bpe-tokenizer", None, "Whitespace", None, None, False),
                                                       ("bpe-tokenizer-subword", {"type": "Lowercase"}, "WhitespaceSplit", "##", "</w>", True)]:
    norm = hf_lowercase if normalizer else (lambda t: t)
    vocab, merges = hf_learn([w for w in hf_pre_tokenize(norm(BPE_CORPUS), pre)], 150, prefix or "", suffix or "")
    ranks = {m: i for i, m in enumerate(merges)}
    ids_of = lambda t: [i for w in hf_pre_tokenize(norm(t), pre) for i in hf_bpe(w, vocab, ranks, prefix or "", suffix or "", fuse)]
    os.makedirs(folder, exist_ok=True)
    json.dump(bpe_tokenizer_json(vocab, merges, normalizer, pre, prefix, suffix, fuse), open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    json.dump({"texts": BPE_TEXTS, "ids": [[cls] + ids_of(t) + [sep] for t in BPE_TEXTS], "pairs": [list(p) for p in BPE_PAIRS],
               "pair_ids": [[cls] + ids_of(a) + [sep] + ids_of(b) + [sep] for a, b in BPE_PAIRS],
               "pair_types": [[0] * (len(ids_of(a)) + 2) + [1] * (len(ids_of(b)) + 1) for a, b in BPE_PAIRS]},
              open(os.path.join(folder, "tokenizer_reference.json"), "w", encoding="utf-8"), ensure_ascii=False)

# mosaic-dna/: the mosaic/ checkpoint (64 rows) with a DNA tokenizer.json of 64 tokens laid out as DNABERT-2's: [UNK] [CLS]
# [SEP] [PAD] [MASK], the letters A C G N T, then merges learned from random sequences; the Whitespace pre-tokenizer, no
# normalizer. expected.json: the ids of DNA texts (lower-case letters are not in its vocabulary: [UNK] each) and the
# MosaicBert module's hidden states of them as one padded batch ([PAD] = 3, attention mask 0 there). Own generator.
dna_rng = torch.Generator().manual_seed(69)
dna_corpus = ["".join("ACGT"[int(k)] for k in torch.randint(0, 4, (40,), generator=dna_rng)) for _ in range(60)]
dna_corpus = [s[:17] + "AAAA" + s[17:] + "TATA" for s in dna_corpus] + ["N"]
dna_vocab, dna_merges = hf_learn(dna_corpus, 64 - 10)
assert len(dna_vocab) == 64, len(dna_vocab)
dna_ranks = {m: i for i, m in enumerate(dna_merges)}
os.makedirs("mosaic-dna", exist_ok=True)
json.dump(bpe_tokenizer_json(dna_vocab, dna_merges, None, "Whitespace", None, None, False), open("mosaic-dna/tokenizer.json", "w", encoding="utf-8"))
json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512}, open("mosaic-dna/tokenizer_config.json", "w"))
json.dump(dict(mosaic_config, pad_token_id=dna_vocab["[PAD]"]), open("mosaic-dna/config.json", "w"), indent=2)
with open("mosaic/model.safetensors", "rb") as src, open("mosaic-dna/model.safetensors", "wb") as dst: dst.write(src.read())
dna_texts = ["ACGTAGCTAGCTTAGCAAAAGGCTATA", "TTGACAAAANNACGT acgt", "GATTACA"]
dna_ids = [[dna_vocab["[CLS]"]] + [i for w in hf_pre_tokenize(t, "Whitespace") for i in hf_bpe(w, dna_vocab, dna_ranks)] + [dna_vocab["[SEP]"]] for t in dna_texts]
T = max(map(len, dna_ids))
dna_batch = torch.tensor([ids + [dna_vocab["[PAD]"]] * (T - len(ids)) for ids in dna_ids])
dna_mask = torch.tensor([[1] * len(ids) + [0] * (T - len(ids)) for ids in dna_ids])
with torch.no_grad():
    dna_hidden, _ = mosaic(dna_batch, dna_mask, torch.zeros_like(dna_batch))
json.dump({"texts": dna_texts, "input_ids": dna_batch.tolist(), "attention_mask": dna_mask.tolist(),
           "last_hidden_state": [round(float(v), 9) for v in (dna_hidden * dna_mask.unsqueeze(-1)).reshape(-1).tolist()]},
          open("mosaic-dna/expected.json", "w"))

# A WordPiece tokenizer.json as Hugging Face's tokenizers quick tour trains one (wordpiece-tokenizer/): normalizers NFD,
# Lowercase and StripAccents (every combining mark: Mn, Mc and Me, as Rust's is_combining_mark), the Whitespace
# pre-tokenizer, a WordPiece model ("##", [UNK] for a word over 100 characters or one it cannot spell) and the quick
# tour's template. The vocabulary: the specials, every character of the normalized corpus alone and after "##", its 40
# most frequent words and a few suffixes. tokenizer_reference.json: ids formed as tokenizers' models/wordpiece forms them
# (greedy longest match from the left, over characters).
def hf_wordpiece_normalize(text):
    return "".join(c for c in unicodedata.normalize("NFD", text).lower() if not unicodedata.category(c).startswith("M"))


def hf_wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars: return [vocab["[UNK]"]]
    out, start = [], 0
    while start < len(word):
        end, piece = len(word), None
        while start < end:
            s = ("##" if start > 0 else "") + word[start:end]
            if s in vocab: piece = s; break
            end -= 1
        if piece is None: return [vocab["[UNK]"]]
        out.append(vocab[piece]); start = end
    return out


import unicodedata
wp_words = hf_pre_tokenize(hf_wordpiece_normalize(BPE_CORPUS), "Whitespace")
wp_chars = sorted({c for w in wp_words for c in w})
wp_vocab = {t: i for i, t in enumerate(["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"])}
for t in wp_chars + ["##" + c for c in wp_chars] + [w for w, _ in collections.Counter(wp_words).most_common(40)] + ["##ing", "##ed", "##s", "##ly", "##er"]:
    wp_vocab.setdefault(t, len(wp_vocab))
wp_json = bpe_tokenizer_json(wp_vocab, [], {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "Lowercase"}, {"type": "StripAccents"}]}, "Whitespace", None, None, False)
wp_json["model"] = {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": wp_vocab}
wp_json["decoder"] = {"type": "WordPiece", "prefix": "##", "cleanup": True}
os.makedirs("wordpiece-tokenizer", exist_ok=True)
json.dump(wp_json, open("wordpiece-tokenizer/tokenizer.json", "w", encoding="utf-8"), ensure_ascii=False)
wp_ids = lambda t: [i for w in hf_pre_tokenize(hf_wordpiece_normalize(t), "Whitespace") for i in hf_wordpiece(w, wp_vocab)]
json.dump({"texts": BPE_TEXTS, "ids": [[wp_vocab["[CLS]"]] + wp_ids(t) + [wp_vocab["[SEP]"]] for t in BPE_TEXTS], "pairs": [list(p) for p in BPE_PAIRS],
           "pair_ids": [[wp_vocab["[CLS]"]] + wp_ids(a) + [wp_vocab["[SEP]"]] + wp_ids(b) + [wp_vocab["[SEP]"]] for a, b in BPE_PAIRS],
           "pair_types": [[0] * (len(wp_ids(a)) + 2) + [1] * (len(wp_ids(b)) + 1) for a, b in BPE_PAIRS]},
          open("wordpiece-tokenizer/tokenizer_reference.json", "w", encoding="utf-8"), ensure_ascii=False)

# DeBERTa v1 (modeling_deberta.py), deberta-v1/: a bare DebertaModel as deberta-base's config shapes it (no absolute
# positions, no token types): one input projection attention.self.in_proj without a bias, whose output each head reads as
# its query, key and value in turn (transpose_for_scores, then chunk(3)), q_bias and v_bias added to the heads' queries and
# values (no key bias), the relative positions encoder.rel_embeddings (2 * max_relative_positions rows, not normalized)
# projected by each layer's pos_proj (no bias) for the content-to-position term and pos_q_proj for the position-to-content
# term, gathered at clamp(±(i - j) + span, 0, 2 span - 1) and scaled by 1/sqrt(3 * head size). Span 4 on sequences of 12,
# so distances clamp. Its tokenizer: byte-level BPE (the merges above) in vocab.json + merges.txt with [PAD] [CLS] [SEP]
# [UNK] first and [MASK] last, as deberta-base's; expected.json's ids are those of texts.json's texts ([CLS] A [SEP]).
# deberta-v1-classifier/: DebertaForSequenceClassification (ContextPooler: pooler.dense + gelu on [CLS], then classifier), 2 labels.
class DebertaV1(nn.Module):
    def __init__(self, V, span):
        super().__init__()
        self.span = span
        e = nn.Module()
        e.word_embeddings = nn.Embedding(V, D); e.LayerNorm = nn.LayerNorm(D, eps=1e-7)
        self.embeddings = e
        self.encoder = nn.Module(); self.encoder.layer = nn.ModuleList()
        for _ in range(L):
            l = nn.Module(); l.attention = nn.Module(); l.attention.self = nn.Module(); l.attention.output = nn.Module()
            s = l.attention.self
            s.in_proj = nn.Linear(D, 3 * D, bias=False)
            s.q_bias = nn.Parameter(torch.zeros(D)); s.v_bias = nn.Parameter(torch.zeros(D))
            s.pos_proj = nn.Linear(D, D, bias=False); s.pos_q_proj = nn.Linear(D, D)
            l.attention.output.dense = nn.Linear(D, D); l.attention.output.LayerNorm = nn.LayerNorm(D, eps=1e-7)
            l.intermediate = nn.Module(); l.intermediate.dense = nn.Linear(D, F)
            l.output = nn.Module(); l.output.dense = nn.Linear(F, D); l.output.LayerNorm = nn.LayerNorm(D, eps=1e-7)
            self.encoder.layer.append(l)
        self.encoder.rel_embeddings = nn.Embedding(2 * span, D)

    def forward(self, ids, mask, types):
        B, T = ids.shape
        e = self.embeddings
        x = e.LayerNorm(e.word_embeddings(ids)) * mask.unsqueeze(-1)
        rel = torch.arange(T)[:, None] - torch.arange(T)[None, :]
        span = self.span
        R = self.encoder.rel_embeddings.weight  # [2 span, D], not normalized
        c2p_pos = torch.clamp(rel + span, 0, 2 * span - 1)
        p2c_pos = torch.clamp(-rel + span, 0, 2 * span - 1)
        hd = D // H
        scale = math.sqrt(hd * 3)
        allowed = (mask[:, None, :, None] * mask[:, None, None, :]).bool()
        per_head = lambda bias: bias.view(H, hd)[None, :, None, :]  # transpose_for_scores(bias[None, None, :])
        for l in self.encoder.layer:
            s = l.attention.self
            q, k, v = s.in_proj(x).view(B, T, H, 3 * hd).transpose(1, 2).chunk(3, dim=-1)  # [B, H, T, hd] each
            q = (q + per_head(s.q_bias)) / scale
            v = v + per_head(s.v_bias)
            pk = s.pos_proj(R).view(-1, H, hd).transpose(0, 1)            # [H, 2 span, hd]
            pq = s.pos_q_proj(R).view(-1, H, hd).transpose(0, 1) / scale
            scores = q @ k.transpose(-1, -2)
            c2p = torch.gather(q @ pk.transpose(-1, -2), -1, c2p_pos.expand(B, H, T, T))
            p2c = torch.gather(k @ pq.transpose(-1, -2), -1, p2c_pos.expand(B, H, T, T)).transpose(-1, -2)
            scores = scores + c2p + p2c
            p = torch.softmax(scores.masked_fill(~allowed, torch.finfo(scores.dtype).min), -1).masked_fill(~allowed, 0)
            c = (p @ v).transpose(1, 2).reshape(B, T, D)
            a = l.attention.output.LayerNorm(l.attention.output.dense(c) + x)
            x = l.output.LayerNorm(l.output.dense(gelu(l.intermediate.dense(a))) + a)
        return x, None


DEBERTA1_VOCAB = {"[PAD]": 0, "[CLS]": 1, "[SEP]": 2, "[UNK]": 3}
for u in B2U.values(): DEBERTA1_VOCAB.setdefault(u, len(DEBERTA1_VOCAB))
for a_, b_ in MERGES: DEBERTA1_VOCAB.setdefault(a_ + b_, len(DEBERTA1_VOCAB))
DEBERTA1_VOCAB["[MASK]"] = len(DEBERTA1_VOCAB)
deberta1_texts = ["the film was great and fun.", "I loved it, but the plot was DULL!", "Café crème"]
deberta1_ids = [[1] + [DEBERTA1_VOCAB[t] for w in words(t0) for t in bpe(w, RANKS)] + [2] for t0 in deberta1_texts]
deberta1_ids = torch.tensor([r[:12] + [0] * (12 - len(r[:12])) for r in deberta1_ids])
deberta1_config = {"model_type": "deberta", "vocab_size": len(DEBERTA1_VOCAB), "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
                   "intermediate_size": F, "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
                   "max_position_embeddings": P, "type_vocab_size": 0, "layer_norm_eps": 1e-7, "relative_attention": True, "max_relative_positions": 4,
                   "pos_att_type": "c2p|p2c", "position_biased_input": False, "pooler_hidden_size": D, "pooler_dropout": 0, "pooler_hidden_act": "gelu",
                   "pad_token_id": 0, "architectures": ["DebertaModel"]}


def deberta1_tokenizer(folder):
    json.dump(DEBERTA1_VOCAB, open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8"), ensure_ascii=False)
    open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8").write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))
    json.dump({"tokenizer_class": "DebertaTokenizer", "do_lower_case": False, "model_max_length": 512}, open(os.path.join(folder, "tokenizer_config.json"), "w"))


torch.manual_seed(70)
deberta1 = DebertaV1(len(DEBERTA1_VOCAB), 4)
make("deberta-v1", deberta1, deberta1_config, "F32", ids=deberta1_ids, pad=0)
os.remove("deberta-v1/vocab.txt")
deberta1_tokenizer("deberta-v1")
json.dump({"texts": deberta1_texts}, open("deberta-v1/texts.json", "w", encoding="utf-8"), ensure_ascii=False)

context_pooler_classifier_folder("deberta-v1-classifier", lambda: DebertaV1(len(DEBERTA1_VOCAB), 4), 71, 72, deberta1_config, "DebertaForSequenceClassification",
                                 ["NEGATIVE", "POSITIVE"], deberta1_ids)
deberta1_tokenizer("deberta-v1-classifier")

# deberta-v1-mlm/: DebertaForMaskedLM on the deberta-v1/ encoder (its released checkpoints' head: BERT's cls.predictions,
# transform dense + gelu + LayerNorm, the decoder tied to the word embeddings, cls.predictions.bias); expected.json the
# logits of a batch with [MASK] tokens. Own generator.
g = torch.Generator().manual_seed(73)
rnd = lambda *shape, s=0.3: (s * torch.randn(*shape, generator=g)).to(torch.float32).to(torch.float64)
V1 = len(DEBERTA1_VOCAB)
lm = {"cls.predictions.transform.dense.weight": rnd(D, D), "cls.predictions.transform.dense.bias": rnd(D, s=0.1),
      "cls.predictions.transform.LayerNorm.weight": 1 + rnd(D, s=0.2), "cls.predictions.transform.LayerNorm.bias": rnd(D, s=0.1), "cls.predictions.bias": rnd(V1, s=0.1)}
mask_id = DEBERTA1_VOCAB["[MASK]"]
v1_first = [1] + [DEBERTA1_VOCAB[t] for w in words("the film was") for t in bpe(w, RANKS)] + [mask_id, 2]
v1_mlm_ids = torch.tensor([v1_first + [0] * (12 - len(v1_first)), [1, mask_id, 300, 301, mask_id, 302, 2, 0, 0, 0, 0, 0]])
v1_mlm_mask = (v1_mlm_ids != 0).long()
v1_mlm_logits = masked_lm_logits(deberta1, v1_mlm_ids, v1_mlm_mask, lm, "cls.predictions.transform.", gelu, 1e-7, "cls.predictions.bias")
task_folder("deberta-v1-mlm", "deberta.", deberta1, lm, dict(deberta1_config, architectures=["DebertaForMaskedLM"]),
            {"input_ids": v1_mlm_ids.tolist(), "attention_mask": v1_mlm_mask.tolist(), "logits": [round(float(v), 9) for v in v1_mlm_logits.reshape(-1).tolist()]})
deberta1_tokenizer("deberta-v1-mlm")

# deberta-v1/model.onnx: the deberta-v1 module exported by PyTorch (opset 14: in_proj and pos_proj as MatMuls of renamed
# weights, q_bias and v_bias folded into [1, H, 1, hd] constants of the exporter's names), read with its config.json.
torch.set_default_dtype(torch.float32)
export_onnx("deberta-v1", deberta1, types=False)
torch.set_default_dtype(torch.float64)

# ERNIE (modeling_ernie.py), ernie/: a bare ErnieModel with use_task_id, as ERNIE 3.0's configs set it: BERT's
# embeddings, layers and pooler under BERT's names, plus embeddings.task_type_embeddings (3 rows), whose row 0 (the task id
# every input has unless given one) is added to every token before the LayerNorm. ernie-classifier/:
# ErnieForSequenceClassification (BERT's pooler, then classifier). Own seeds, last.
class Ernie(Bert):
    def __init__(self):
        super().__init__()
        self.embeddings.task_type_embeddings = nn.Embedding(3, D)

    def embed(self, ids, mask, types):
        B, T = ids.shape
        e = self.embeddings
        pos = torch.arange(T).unsqueeze(0).expand(B, T)
        return e.LayerNorm(e.word_embeddings(ids) + e.token_type_embeddings(types) + e.position_embeddings(pos) + e.task_type_embeddings(torch.zeros_like(ids)))


ernie_config = dict(bert_config, model_type="ernie", use_task_id=True, task_type_vocab_size=3, architectures=["ErnieModel"])
torch.manual_seed(74)
ernie = Ernie()
make("ernie", ernie, ernie_config, "F32")
torch.manual_seed(75)
cls_model = Ernie()
randomize(cls_model); round_to(cls_model, torch.float32)
ernie_ids = torch.tensor([[2, 8, 9, 12, 10, 3, 0, 0, 0], [2, 15, 20, 7, 13, 11, 19, 30, 3], [2, 5, 3, 0, 0, 0, 0, 0, 0]])
pooler_classifier_folder("ernie-classifier", "ernie.", cls_model, ernie_config, "ErnieForSequenceClassification", ["negative", "positive"], ernie_ids,
                         torch.tensor([[0] * 9, [0, 0, 0, 0, 1, 1, 1, 1, 1], [0] * 9]), head_seed=76)

def roberta_head_classifier_folder(name, prefix, make_model, model_seed, head_seed, config, architecture, labels, ids, pad):
    """A *ForSequenceClassification folder with RoBERTa's head (classifier.dense + tanh on the first token, then
    classifier.out_proj) over a model of its own seed, without a pooler; its logits on ids (pad: the padding id) in expected.json."""
    global g
    torch.manual_seed(model_seed)
    model = make_model()
    randomize(model); round_to(model, torch.float32)
    g = torch.Generator().manual_seed(head_seed)
    n = len(labels)
    head = {"classifier.dense.weight": rnd(D, D), "classifier.dense.bias": rnd(D, s=0.1), "classifier.out_proj.weight": rnd(n, D), "classifier.out_proj.bias": rnd(n, s=0.1)}
    mask = (ids != pad).long()
    with torch.no_grad():
        hidden, _ = model(ids, mask, torch.zeros_like(ids))
        logits = torch.tanh(hidden[:, 0] @ head["classifier.dense.weight"].T + head["classifier.dense.bias"]) @ head["classifier.out_proj.weight"].T + head["classifier.out_proj.bias"]
    task_folder(name, prefix, model, head,
                dict(config, architectures=[architecture], id2label={str(i): l for i, l in enumerate(labels)}, label2id={l: i for i, l in enumerate(labels)}),
                {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": torch.zeros_like(ids).tolist(),
                 "logits": [round(float(v), 9) for v in logits.reshape(-1).tolist()]}, leave_out="pooler.")
    export_task_onnx(name, prefix, model, head, lambda o, m, M: M("classifier.out_proj")(torch.tanh(M("classifier.dense")(o[0][:, 0]))), ids, pad)


# ESM (modeling_esm.py, Meta's protein language models), esm/: a bare EsmModel under esm. as ESM-2's configs shape it:
# rotary positions (base 10,000, the query scaled before it turns), token_dropout (the embeddings of <mask> zeroed, the
# rest scaled by (1 - 0.15 * 0.8) / (1 - the sequence's share of <mask> among its real tokens)), no emb_layer_norm_before,
# pre-norm layers (attention.LayerNorm before self-attention, LayerNorm before intermediate.dense), erf GELU,
# encoder.emb_layer_norm_after; with its contact_head (a head, left out) and the rotary inv_freq buffers older
# checkpoints carry. Inputs hold <mask> tokens, so the scale differs by sequence. esm1b/: ESM-1b's shape (learned positions
# from pad_token_id + 1, embeddings.layer_norm). esm-classifier/: EsmForSequenceClassification (classifier.dense + tanh on
# <cls>, then out_proj). esm-mlm/: EsmForMaskedLM (lm_head.dense, gelu, lm_head.layer_norm, the tied decoder, lm_head.bias).
# esm/tokenizer_reference.json: EsmTokenizer's ids of hard texts (its vocabulary split out of the text leftmost-longest,
# as its trie does, the rest split on whitespace, each word <unk>). Own seeds, last.
import re
ESM_VOCAB = ["<cls>", "<pad>", "<eos>", "<unk>", "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K", "Q", "N", "F", "Y", "M", "H", "W",
             "C", "X", "B", "U", "Z", "O", ".", "-", "<null_1>", "<mask>"]
EV = len(ESM_VOCAB)


class Esm(nn.Module):
    def __init__(self, absolute=False):
        super().__init__()
        self.absolute = absolute
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(EV, D)
        if absolute:
            self.embeddings.layer_norm = nn.LayerNorm(D, eps=1e-5)
            self.embeddings.position_embeddings = nn.Embedding(P + 2, D)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList()
        for _ in range(L):
            l = nn.Module()
            l.attention = nn.Module(); l.attention.self = nn.Module(); l.attention.output = nn.Module()
            l.attention.self.query, l.attention.self.key, l.attention.self.value = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
            l.attention.output.dense = nn.Linear(D, D)
            l.attention.LayerNorm = nn.LayerNorm(D, eps=1e-5)
            l.intermediate = nn.Module(); l.intermediate.dense = nn.Linear(D, F)
            l.output = nn.Module(); l.output.dense = nn.Linear(F, D)
            l.LayerNorm = nn.LayerNorm(D, eps=1e-5)
            self.encoder.layer.append(l)
        self.encoder.emb_layer_norm_after = nn.LayerNorm(D, eps=1e-5)

    def forward(self, ids, mask, types):
        B, T = ids.shape
        hd = D // H
        x = self.embeddings.word_embeddings(ids)
        masked = ids == 32
        x = x.masked_fill(masked.unsqueeze(-1), 0.0)
        observed = masked.sum(-1).float() / mask.sum(-1)
        x = x * (1 - 0.15 * 0.8) / (1 - observed)[:, None, None]
        if self.absolute:
            x = x + self.embeddings.position_embeddings(torch.cumsum(mask, 1) * mask + 1)  # create_position_ids_from_input_ids, padding_idx 1
            x = self.embeddings.layer_norm(x)
        x = x * mask.unsqueeze(-1)
        for l in self.encoder.layer:
            h = l.attention.LayerNorm(x)
            a = l.attention.self
            q, k, v = (lin(h).view(B, T, H, hd).transpose(1, 2) for lin in (a.query, a.key, a.value))
            q = q * hd ** -0.5
            if not self.absolute: q, k = rotary(q, 10000.0), rotary(k, 10000.0)
            scores = (q @ k.transpose(-1, -2)).masked_fill(mask[:, None, None, :] == 0, torch.finfo(x.dtype).min)
            x = x + l.attention.output.dense((torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, T, D))
            x = x + l.output.dense(gelu(l.intermediate.dense(l.LayerNorm(x))))
        return self.encoder.emb_layer_norm_after(x), None


esm_config = {"model_type": "esm", "architectures": ["EsmModel"], "vocab_size": EV, "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
              "intermediate_size": F, "hidden_act": "gelu", "max_position_embeddings": P, "position_embedding_type": "rotary", "token_dropout": True,
              "mask_token_id": 32, "pad_token_id": 1, "emb_layer_norm_before": False, "layer_norm_eps": 1e-5, "hidden_dropout_prob": 0.0,
              "attention_probs_dropout_prob": 0.0, "is_folding_model": False}
esm_ids = torch.tensor([[0, 20, 15, 11, 32, 5, 12, 16, 2, 1], [0, 32, 32, 4, 5, 6, 7, 8, 9, 2], [0, 13, 14, 2, 1, 1, 1, 1, 1, 1]])
esm_tokenizer_config = {"tokenizer_class": "EsmTokenizer", "cls_token": "<cls>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
                        "mask_token": "<mask>", "model_max_length": 1024}
torch.manual_seed(77)
esm = Esm()
contact = {"esm.contact_head.regression.weight": ("F32", torch.randn(1, L * H)), "esm.contact_head.regression.bias": ("F32", torch.zeros(1))}
inv_freq = 1.0 / (10000 ** (torch.arange(0, D // H, 2, dtype=torch.int64).float() / (D // H)))
for i in range(L): contact[f"esm.encoder.layer.{i}.attention.self.rotary_embeddings.inv_freq"] = ("F32", inv_freq)
make("esm", esm, esm_config, "F32", prefix="esm.", extra=contact, ids=esm_ids, pad=1, vocab=ESM_VOCAB)
json.dump(esm_tokenizer_config, open("esm/tokenizer_config.json", "w"), indent=2)
torch.manual_seed(78)
esm1b = Esm(absolute=True)
make("esm1b", esm1b, dict(esm_config, position_embedding_type="absolute", emb_layer_norm_before=True, max_position_embeddings=P + 2), "F32",
     prefix="esm.", extra={"esm.embeddings.position_ids": ("I64", torch.arange(P + 2).unsqueeze(0))}, ids=esm_ids, pad=1, vocab=ESM_VOCAB)
json.dump(esm_tokenizer_config, open("esm1b/tokenizer_config.json", "w"), indent=2)

roberta_head_classifier_folder("esm-classifier", "esm.", Esm, 79, 80, esm_config, "EsmForSequenceClassification", ["cytoplasm", "membrane"], esm_ids, pad=1)
mask = (esm_ids != 1).long()
open("esm-classifier/vocab.txt", "w").write("\n".join(ESM_VOCAB) + "\n")
json.dump(esm_tokenizer_config, open("esm-classifier/tokenizer_config.json", "w"), indent=2)

g = torch.Generator().manual_seed(81)
lm = {"lm_head.dense.weight": rnd(D, D), "lm_head.dense.bias": rnd(D, s=0.1), "lm_head.layer_norm.weight": 1 + rnd(D, s=0.2),
      "lm_head.layer_norm.bias": rnd(D, s=0.1), "lm_head.bias": rnd(EV, s=0.1)}
with torch.no_grad():
    hidden, _ = esm(esm_ids, mask, None)
    h = torch.nn.functional.layer_norm(gelu(hidden @ lm["lm_head.dense.weight"].T + lm["lm_head.dense.bias"]), (D,), lm["lm_head.layer_norm.weight"], lm["lm_head.layer_norm.bias"], 1e-5)
    mlm_logits = h @ esm.embeddings.word_embeddings.weight.T + lm["lm_head.bias"]
task_folder("esm-mlm", "esm.", esm, lm, dict(esm_config, architectures=["EsmForMaskedLM"]),
            {"input_ids": esm_ids.tolist(), "attention_mask": mask.tolist(), "logits": [round(float(v), 9) for v in mlm_logits.reshape(-1).tolist()]})
open("esm-mlm/vocab.txt", "w").write("\n".join(ESM_VOCAB) + "\n")
json.dump(esm_tokenizer_config, open("esm-mlm/tokenizer_config.json", "w"), indent=2)

# EsmTokenizer: its trie splits the vocabulary's tokens out of the text (leftmost, then longest: a regex alternation of
# the tokens, longest first), the rest is split on whitespace and each word looked up (<unk> when absent).
esm_pattern = re.compile("|".join(re.escape(t) for t in sorted(ESM_VOCAB, key=len, reverse=True)))
def esm_tokenize(text):
    ids, rest = [], 0
    for m in esm_pattern.finditer(text):
        ids += [ESM_VOCAB.index(w) if w in ESM_VOCAB else 3 for w in text[rest:m.start()].split()]
        ids.append(ESM_VOCAB.index(m.group())); rest = m.end()
    return ids + [ESM_VOCAB.index(w) if w in ESM_VOCAB else 3 for w in text[rest:].split()]
esm_texts = ["MKTAYIAKQR", "MKT AYI\tAKQ\nR", "mktayi", "MKTJJAYI", "MKT<mask>AYI<mask>", "<cls>MKT<eos>", "<mas<mask>k>", "M.K-T*Z",
             "<null_1>XBUZO", "  ", "ÄMKT😀A", "MK1T 22 A", "<MASK>MKT", "LAGVSERTIDPKQNFYMHWC"]
json.dump({"texts": esm_texts, "ids": [[0] + esm_tokenize(t) + [2] for t in esm_texts],
           "pairs": [["MKTAYI", "AKQR"], ["MK<mask>", "<unk>AA"]],
           "pair_ids": [[0] + esm_tokenize(a) + [2] + esm_tokenize(b) + [2] for a, b in [["MKTAYI", "AKQR"], ["MK<mask>", "<unk>AA"]]],
           # the types PreTrainedTokenizer forms (EsmModel has no token-type table and EsmTokenizer does not return them)
           "pair_types": [[0] * (len(esm_tokenize(a)) + 2) + [1] * (len(esm_tokenize(b)) + 1) for a, b in [["MKTAYI", "AKQR"], ["MK<mask>", "<unk>AA"]]]},
          open("esm/tokenizer_reference.json", "w", encoding="utf-8"), ensure_ascii=False)

# esm/model.onnx: the ESM-2-shaped encoder as PyTorch's exporter writes it (its token dropout and rotary positions computed
# in the graph), read with esm/config.json.
torch.set_default_dtype(torch.float32)
export_onnx("esm", esm, types=False)
torch.set_default_dtype(torch.float64)

# MegatronBERT (modeling_megatron_bert.py, e.g. nvidia/megatron-bert-cased-345m), megatron/: BertModel's embeddings
# without their LayerNorm ("moved to each layer"), pre-norm layers (attention.ln before self-attention, ln before
# intermediate.dense; the residuals unnormalized) and the final encoder.ln, BERT's pooler, under bert.; with its
# BertForPreTraining heads (cls.*, left out). megatron-classifier/: MegatronBertForSequenceClassification (the pooler, then
# classifier). Own seeds, last.
class PreNormBert(Bert):
    """BERT's layers run pre-norm: a norm before the attention and one before the feed-forward block, the residuals left
    unnormalized, a final norm; each subclass names its three norms (attention_norm, ffn_norm, final_norm)."""
    def layers(self, x, mask):
        B, T, _ = x.shape
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        hd = D // H
        for l in self.encoder.layer:
            s, h = l.attention.self, self.attention_norm(l)(x)
            q, k, v = (m(h).view(B, T, H, hd).transpose(1, 2) for m in (s.query, s.key, s.value))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, -1)
            x = x + l.attention.output.dense((a @ v).transpose(1, 2).reshape(B, T, D))
            x = x + l.output.dense(gelu(l.intermediate.dense(self.ffn_norm(l)(x))))
        return self.final_norm()(x)


class MegatronBert(PreNormBert):
    def __init__(self):
        super().__init__()
        del self.embeddings.LayerNorm
        for l in self.encoder.layer:
            del l.attention.output.LayerNorm, l.output.LayerNorm
            l.attention.ln, l.ln = nn.LayerNorm(D, eps=1e-12), nn.LayerNorm(D, eps=1e-12)
        self.encoder.ln = nn.LayerNorm(D, eps=1e-12)

    def embed(self, ids, mask, types):
        B, T = ids.shape
        e = self.embeddings
        return e.word_embeddings(ids) + e.token_type_embeddings(types) + e.position_embeddings(torch.arange(T).unsqueeze(0).expand(B, T))

    attention_norm, ffn_norm, final_norm = (lambda self, l: l.attention.ln), (lambda self, l: l.ln), (lambda self: self.encoder.ln)


megatron_config = dict(bert_config, model_type="megatron-bert", architectures=["MegatronBertForPreTraining"])
torch.manual_seed(82)
megatron = MegatronBert()
make("megatron", megatron, megatron_config, "F32", prefix="bert.",
     extra={"cls.predictions.bias": ("F32", torch.zeros(V)), "cls.seq_relationship.weight": ("F32", torch.zeros(2, D)), "cls.seq_relationship.bias": ("F32", torch.zeros(2))})
torch.manual_seed(83)
cls_model = MegatronBert()
randomize(cls_model); round_to(cls_model, torch.float32)
pooler_classifier_folder("megatron-classifier", "bert.", cls_model, megatron_config, "MegatronBertForSequenceClassification", ["negative", "positive"],
                         torch.tensor([[2, 8, 9, 12, 10, 3, 0, 0, 0], [2, 15, 20, 7, 13, 11, 19, 30, 3], [2, 5, 3, 0, 0, 0, 0, 0, 0]]),
                         torch.tensor([[0] * 9, [0, 0, 0, 0, 1, 1, 1, 1, 1], [0] * 9]), head_seed=84)

# megatron/model.onnx: MegatronBERT as PyTorch's exporter writes it, read with megatron/config.json.
torch.set_default_dtype(torch.float32)
export_onnx("megatron", megatron, types=True)
torch.set_default_dtype(torch.float64)

# RoBERTa-PreLayerNorm (modeling_roberta_prelayernorm.py, e.g. andreasmadsen/efficient_mlm_m0.40), roberta-prelayernorm/:
# RoBERTa's embeddings (with their LayerNorm, positions from pad_token_id + 1), pre-norm layers (attention.LayerNorm before
# self-attention, intermediate.LayerNorm before intermediate.dense), a final LayerNorm on the model (roberta_prelayernorm.LayerNorm)
# and the pooler after it; RoBERTa's vocab.json + merges.txt. roberta-prelayernorm-classifier/:
# RobertaPreLayerNormForSequenceClassification (classifier.dense + tanh on <s>, out_proj). Own seeds, last.
class RobertaPreLayerNorm(PreNormBert):
    def __init__(self):
        super().__init__(roberta=True)
        for l in self.encoder.layer:
            del l.attention.output.LayerNorm, l.output.LayerNorm
            l.attention.LayerNorm, l.intermediate.LayerNorm = nn.LayerNorm(D, eps=1e-12), nn.LayerNorm(D, eps=1e-12)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)

    attention_norm, ffn_norm, final_norm = (lambda self, l: l.attention.LayerNorm), (lambda self, l: l.intermediate.LayerNorm), (lambda self: self.LayerNorm)


V = len(ROBERTA_VOCAB)
rpln_config = dict(bert_config, model_type="roberta-prelayernorm", vocab_size=V, max_position_embeddings=P + 2, type_vocab_size=1, pad_token_id=1,
                   architectures=["RobertaPreLayerNormModel"])
rpln_ids = torch.tensor([[0, 8, 9, 12, 10, 2, 1, 1, 1], [0, 15, 20, 7, 13, 11, 19, 30, 2], [0, 5, 2, 1, 1, 1, 1, 1, 1]])
torch.manual_seed(85)
rpln = RobertaPreLayerNorm()
make("roberta-prelayernorm", rpln, rpln_config, "F32", prefix="roberta_prelayernorm.", ids=rpln_ids, pad=1)
roberta_head_classifier_folder("roberta-prelayernorm-classifier", "roberta_prelayernorm.", RobertaPreLayerNorm, 86, 87, rpln_config,
                               "RobertaPreLayerNormForSequenceClassification", ["NEGATIVE", "POSITIVE"], rpln_ids, pad=1)
for folder in ["roberta-prelayernorm", "roberta-prelayernorm-classifier"]:
    json.dump(ROBERTA_VOCAB, open(f"{folder}/vocab.json", "w", encoding="utf-8"), ensure_ascii=False)
    open(f"{folder}/merges.txt", "w", encoding="utf-8").write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))
    if os.path.exists(f"{folder}/vocab.txt"): os.remove(f"{folder}/vocab.txt")
V = len(VOCAB)

# roberta-prelayernorm/model.onnx: as PyTorch's exporter writes it, read with its config.json.
torch.set_default_dtype(torch.float32)
export_onnx("roberta-prelayernorm", rpln, types=False)
torch.set_default_dtype(torch.float64)

# megatron-mlm/: MegatronBertForMaskedLM (no pooler; BERT's cls.predictions over the pre-norm encoder above);
# roberta-prelayernorm-mlm/: RobertaPreLayerNormForMaskedLM (RoBERTa's lm_head: dense, gelu, layer_norm, the tied decoder
# and lm_head.bias). Own generators, last.
g = torch.Generator().manual_seed(88)
lm = {"cls.predictions.transform.dense.weight": rnd(D, D), "cls.predictions.transform.dense.bias": rnd(D, s=0.1),
      "cls.predictions.transform.LayerNorm.weight": 1 + rnd(D, s=0.2), "cls.predictions.transform.LayerNorm.bias": rnd(D, s=0.1), "cls.predictions.bias": rnd(V, s=0.1)}
meg_mlm_ids = torch.tensor([[2, 8, 9, 4, 10, 3, 0, 0, 0], [2, 4, 20, 7, 13, 4, 19, 30, 3]])
meg_mlm_mask = (meg_mlm_ids != 0).long()
meg_mlm_logits = masked_lm_logits(megatron, meg_mlm_ids, meg_mlm_mask, lm, "cls.predictions.transform.", gelu, 1e-12, "cls.predictions.bias")
task_folder("megatron-mlm", "bert.", megatron, lm, dict(megatron_config, architectures=["MegatronBertForMaskedLM"]),
            {"input_ids": meg_mlm_ids.tolist(), "attention_mask": meg_mlm_mask.tolist(), "logits": [round(float(v), 9) for v in meg_mlm_logits.reshape(-1).tolist()]},
            leave_out="pooler.")
open("megatron-mlm/vocab.txt", "w").write("\n".join(VOCAB) + "\n")

VR = len(ROBERTA_VOCAB)
g = torch.Generator().manual_seed(89)
lm = {"lm_head.dense.weight": rnd(D, D), "lm_head.dense.bias": rnd(D, s=0.1), "lm_head.layer_norm.weight": 1 + rnd(D, s=0.2),
      "lm_head.layer_norm.bias": rnd(D, s=0.1), "lm_head.bias": rnd(VR, s=0.1)}
rmask_id = ROBERTA_VOCAB["<mask>"]
rpln_mlm_ids = torch.tensor([[0, 8, 9, rmask_id, 10, 2, 1, 1, 1], [0, rmask_id, 20, 7, 13, rmask_id, 19, 30, 2]])
rpln_mlm_mask = (rpln_mlm_ids != 1).long()
with torch.no_grad():
    hidden, _ = rpln(rpln_mlm_ids, rpln_mlm_mask, torch.zeros_like(rpln_mlm_ids))
    h = torch.nn.functional.layer_norm(gelu(hidden @ lm["lm_head.dense.weight"].T + lm["lm_head.dense.bias"]), (D,), lm["lm_head.layer_norm.weight"], lm["lm_head.layer_norm.bias"], 1e-12)
    rpln_mlm_logits = h @ rpln.embeddings.word_embeddings.weight.T + lm["lm_head.bias"]
task_folder("roberta-prelayernorm-mlm", "roberta_prelayernorm.", rpln, lm, dict(rpln_config, architectures=["RobertaPreLayerNormForMaskedLM"]),
            {"input_ids": rpln_mlm_ids.tolist(), "attention_mask": rpln_mlm_mask.tolist(), "logits": [round(float(v), 9) for v in rpln_mlm_logits.reshape(-1).tolist()]},
            leave_out="pooler.")
json.dump(ROBERTA_VOCAB, open("roberta-prelayernorm-mlm/vocab.json", "w", encoding="utf-8"), ensure_ascii=False)
open("roberta-prelayernorm-mlm/merges.txt", "w", encoding="utf-8").write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))

# XLM-RoBERTa-XL (modeling_xlm_roberta_xl.py: facebook/xlm-roberta-xl and -xxl, under roberta.), xlmr-xl/: RoBERTa's
# embeddings and positions without their LayerNorm, pre-norm layers (attention.self_attn_layer_norm before the attention,
# the layer's LayerNorm before intermediate.dense), a final encoder.LayerNorm, BERT's pooler; RoBERTa's vocab.json +
# merges.txt here (the released models use XLM-RoBERTa's SentencePiece model, read as XLM-RoBERTa's). Own seed, last.
class XlmRobertaXl(PreNormBert):
    def __init__(self):
        super().__init__(roberta=True)
        del self.embeddings.LayerNorm
        for l in self.encoder.layer:
            del l.attention.output.LayerNorm, l.output.LayerNorm
            l.attention.self_attn_layer_norm, l.LayerNorm = nn.LayerNorm(D, eps=1e-5), nn.LayerNorm(D, eps=1e-5)
        self.encoder.LayerNorm = nn.LayerNorm(D, eps=1e-5)

    def embed(self, ids, mask, types):
        e = self.embeddings
        return e.word_embeddings(ids) + e.token_type_embeddings(types) + e.position_embeddings((torch.cumsum(mask, 1) * mask) + self.pad)

    attention_norm, ffn_norm, final_norm = (lambda self, l: l.attention.self_attn_layer_norm), (lambda self, l: l.LayerNorm), (lambda self: self.encoder.LayerNorm)


V = len(ROBERTA_VOCAB)
torch.manual_seed(90)
xlmr_xl = XlmRobertaXl()
make("xlmr-xl", xlmr_xl, dict(rpln_config, model_type="xlm-roberta-xl", layer_norm_eps=1e-5, architectures=["XLMRobertaXLModel"]), "F32",
     prefix="roberta.", ids=rpln_ids, pad=1)
json.dump(ROBERTA_VOCAB, open("xlmr-xl/vocab.json", "w", encoding="utf-8"), ensure_ascii=False)
open("xlmr-xl/merges.txt", "w", encoding="utf-8").write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))
os.remove("xlmr-xl/vocab.txt")
V = len(VOCAB)
torch.set_default_dtype(torch.float32)
export_onnx("xlmr-xl", xlmr_xl, types=False)
torch.set_default_dtype(torch.float64)

# data2vec-text (modeling_data2vec_text.py, facebook/data2vec-text-base, under data2vec_text.): RoBERTa's architecture and
# names, data2vec-text/: a bare Data2VecTextModel with its pooler and RoBERTa's vocab.json + merges.txt. Own seed, last.
V = len(ROBERTA_VOCAB)
torch.manual_seed(91)
d2v = Bert(roberta=True)
make("data2vec-text", d2v, dict(rpln_config, model_type="data2vec-text", architectures=["Data2VecTextModel"]), "F32", prefix="data2vec_text.", ids=rpln_ids, pad=1)
json.dump(ROBERTA_VOCAB, open("data2vec-text/vocab.json", "w", encoding="utf-8"), ensure_ascii=False)
open("data2vec-text/merges.txt", "w", encoding="utf-8").write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))
os.remove("data2vec-text/vocab.txt")
V = len(VOCAB)

# Token classifiers as Hugging Face's *ForTokenClassification save them (modeling_bert.py's BertForTokenClassification:
# BertModel without its pooler, dropout, then `classifier` at every position; RobertaForTokenClassification the same
# under roberta.): bert-token-classifier/ on the BERT checkpoint (F32, bert. prefix, old gamma/beta names),
# roberta-token-classifier/ on the RoBERTa one (BF16 weights, computed as stored) and distilbert-token-classifier/ on the
# DistilBERT one (F16 weights, no token types; DistilBertForTokenClassification), 5 tags. expected.json: the logits of a
# fixed batch, the loss (cross-entropy averaged over the positions with a tag; -100 at specials, padding and a word's later
# pieces) and its gradient with respect to every parameter. Own generator, last in the file.
# A *For<Task> folder of the BERT, RoBERTa or DistilBERT checkpoint whose output layer runs at every position: the encoder
# under the family's prefix (BERT's with the old gamma/beta names) without its pooler, the output layer under the task's
# name, config.json naming the task's class (and any other keys given), the tokenizer's files; returns the gradients
# (the loss's backward already run) by the modules' names.
def position_head_folder(folder, kind, model, output, head, suffix, **config):
    tensors = {kind + "." + (old_names(n0) if kind == "bert" else n0): ("F32", p.detach()) for n0, p in model.named_parameters() if not n0.startswith("pooler.")}
    tensors.update({output + "weight": ("F32", head.weight.detach()), output + "bias": ("F32", head.bias.detach())})
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})
    base = json.load(open(os.path.join(kind, "config.json")))
    json.dump(dict(base, architectures=[{"bert": "Bert", "roberta": "Roberta", "distilbert": "DistilBert"}[kind] + suffix], **config),
              open(os.path.join(folder, "config.json"), "w"), indent=2)
    for f in (("vocab.json", "merges.txt") if kind == "roberta" else ("vocab.txt",)):
        open(os.path.join(folder, f), "w", encoding="utf-8").write(open(os.path.join(kind, f), encoding="utf-8").read())
    grads = {n0: r(p.grad) for n0, p in model.named_parameters() if not n0.startswith("pooler.")}
    grads.update({output + "weight": r(head.weight.grad), output + "bias": r(head.bias.grad)})
    return grads

g = torch.Generator().manual_seed(92)
tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
r = lambda t: [round(float(v), 9) for v in t.reshape(-1).tolist()]
for folder, model, kind in (("bert-token-classifier", bert, "bert"), ("roberta-token-classifier", roberta, "roberta"), ("distilbert-token-classifier", distilbert, "distilbert")):
    os.makedirs(folder, exist_ok=True)
    n = len(tags)
    head = nn.Linear(D, n)
    with torch.no_grad():
        head.weight.copy_((0.3 * torch.randn(n, D, generator=g)).to(torch.float32).to(torch.float64))
        head.bias.copy_((0.1 * torch.randn(n, generator=g)).to(torch.float32).to(torch.float64))
    pad, cls, sep = (1, 0, 2) if kind == "roberta" else (0, 2, 3)
    ids = torch.tensor([[cls, 8, 9, 12, 10, sep, pad, pad, pad], [cls, 15, 20, 7, 13, 11, 19, 30, sep], [cls, 5, sep, pad, pad, pad, pad, pad, pad]])
    mask = (ids != pad).long()
    types = torch.zeros_like(ids)
    labels = torch.tensor([[-100, 0, 1, 2, 0, -100, -100, -100, -100], [-100, 3, -100, 4, 0, 0, 1, -100, -100], [-100, 0, -100, -100, -100, -100, -100, -100, -100]])
    model.zero_grad()
    hidden, _ = model(ids, mask, types)
    logits = head(hidden)
    loss = nn.functional.cross_entropy(logits.reshape(-1, n), labels.reshape(-1), ignore_index=-100)
    loss.backward()
    grads = position_head_folder(folder, kind, model, "classifier.", head, "ForTokenClassification",
                                 id2label={str(i): l for i, l in enumerate(tags)}, label2id={l: i for i, l in enumerate(tags)})
    json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(), "labels": labels.tolist(),
               "logits": r(logits.detach()), "loss": float(loss), "grads": grads}, open(os.path.join(folder, "expected.json"), "w"))
    export_task_onnx(folder, kind + ".", model, {"classifier.weight": head.weight.detach(), "classifier.bias": head.bias.detach()},
                     lambda o, m, M: M("classifier")(o[0]), ids, pad, types=types if kind == "bert" else None, per_token=True)

# ModernBertForTokenClassification (modernbert-token-classifier/, under model.): its head (head.dense without a bias, GELU,
# head.norm without a bias) at every position, dropout, then classifier; 5 tags. expected.json: the logits, the loss over
# tagged positions and every gradient. Own seeds, last in the file.
torch.manual_seed(93)
tok_model = ModernBert()
randomize_modernbert(tok_model); round_to(tok_model, torch.float32)
g = torch.Generator().manual_seed(94)
tok_head = {k: nn.Parameter(v) for k, v in {"head.dense.weight": rnd(D, D), "head.norm.weight": 1 + rnd(D, s=0.2), "classifier.weight": rnd(5, D), "classifier.bias": rnd(5, s=0.1)}.items()}
mask = (modernbert_ids != 0).long()
labels = torch.full_like(modernbert_ids, -100)
labels[0, 1:11] = torch.tensor([0, 1, 2, 0, 3, 4, 0, 0, 1, 2]); labels[1, 1:5] = torch.tensor([3, 4, 0, 0]); labels[2, 1:9:2] = torch.tensor([1, 0, 3, 0])
hidden, _ = tok_model(modernbert_ids, mask, torch.zeros_like(modernbert_ids))
h = torch.nn.functional.layer_norm(gelu(hidden @ tok_head["head.dense.weight"].T), (D,), tok_head["head.norm.weight"], None, 1e-5)
logits = h @ tok_head["classifier.weight"].T + tok_head["classifier.bias"]
loss = nn.functional.cross_entropy(logits.reshape(-1, 5), labels.reshape(-1), ignore_index=-100)
loss.backward()
r = lambda t: [round(float(v), 9) for v in t.reshape(-1).tolist()]
grads = {n0: r(p.grad) for n0, p in tok_model.named_parameters()}
grads.update({k: r(v.grad) for k, v in tok_head.items()})
task_folder("modernbert-token-classifier", "model.", tok_model, {k: v.detach() for k, v in tok_head.items()},
            dict(modernbert_config, architectures=["ModernBertForTokenClassification"], id2label={str(i): t for i, t in enumerate(tags)}, label2id={t: i for i, t in enumerate(tags)}),
            {"input_ids": modernbert_ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": torch.zeros_like(modernbert_ids).tolist(), "labels": labels.tolist(),
             "logits": r(logits.detach()), "loss": float(loss), "grads": grads})
open(os.path.join("modernbert-token-classifier", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
export_task_onnx("modernbert-token-classifier", "model.", tok_model, {k: v.detach() for k, v in tok_head.items()},
                 lambda o, m, M: M("classifier")(modernbert_head(o[0], M)), modernbert_ids, 0, per_token=True)

# Question answerers as Hugging Face's *ForQuestionAnswering save them (modeling_bert.py's BertForQuestionAnswering:
# BertModel without its pooler, then `qa_outputs` [2, d] at every position, no dropout; start logits = output 0, end =
# output 1; loss = (cross_entropy(start) + cross_entropy(end)) / 2, positions clamped to [0, T] and T ignored):
# bert-qa/ on the BERT checkpoint (F32, bert. prefix, old gamma/beta names), roberta-qa/ on the RoBERTa one (BF16
# weights) and distilbert-qa/ on the DistilBERT one (F16, no token types; DistilBertForQuestionAnswering, whose dropout
# before qa_outputs, qa_dropout, is 0 here). expected.json: the start and end logits of a padded batch (question and context with token
# types), and on a batch without padding (where the engine's loss, which leaves padding out of the softmax, is
# transformers' exactly) the loss with one row's answer past the sequence (ignored) and its gradient with respect to every
# parameter. Own generator, last in the file.
g = torch.Generator().manual_seed(95)
for folder, model, kind in (("bert-qa", bert, "bert"), ("roberta-qa", roberta, "roberta"), ("distilbert-qa", distilbert, "distilbert")):
    os.makedirs(folder, exist_ok=True)
    head = nn.Linear(D, 2)
    with torch.no_grad():
        head.weight.copy_((0.3 * torch.randn(2, D, generator=g)).to(torch.float32).to(torch.float64))
        head.bias.copy_((0.1 * torch.randn(2, generator=g)).to(torch.float32).to(torch.float64))
    pad, cls, sep = (1, 0, 2) if kind == "roberta" else (0, 2, 3)
    ids = torch.tensor([[cls, 8, 9, sep, 12, 10, 14, sep, pad, pad], [cls, 15, 20, 7, sep, 13, 11, 19, 30, sep], [cls, 5, sep, 16, sep, pad, pad, pad, pad, pad]])
    mask = (ids != pad).long()
    types = torch.zeros_like(ids) if kind != "bert" else torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]])
    hidden, _ = model(ids, mask, types)
    logits = head(hidden).detach()
    train_ids = torch.tensor([[cls, 8, 9, sep, 12, 10, 14, 17, sep], [cls, 15, 20, 7, sep, 13, 11, 19, sep], [cls, 5, sep, 16, 18, 21, 22, 6, sep], [cls, 6, 6, sep, 9, 9, 12, 25, sep]])
    train_types = torch.zeros_like(train_ids) if kind != "bert" else (torch.arange(9) >= torch.tensor([[4], [5], [3], [4]])).long()
    positions = torch.tensor([[5, 6], [6, 8], [0, 0], [9, 9]])  # the last row's answer is past the sequence: ignored
    model.zero_grad()
    hidden, _ = model(train_ids, torch.ones_like(train_ids), train_types)
    out = head(hidden)
    start, end = out[..., 0], out[..., 1]
    T = train_ids.shape[1]
    s, e = positions[:, 0].clamp(0, T), positions[:, 1].clamp(0, T)
    loss = (nn.functional.cross_entropy(start, s, ignore_index=T) + nn.functional.cross_entropy(end, e, ignore_index=T)) / 2
    loss.backward()
    grads = position_head_folder(folder, kind, model, "qa_outputs.", head, "ForQuestionAnswering", **({"qa_dropout": 0.0} if kind == "distilbert" else {}))  # as DistilBertConfig writes it
    json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(),
               "start_logits": r(logits[..., 0]), "end_logits": r(logits[..., 1]),
               "train_input_ids": train_ids.tolist(), "train_token_type_ids": train_types.tolist(), "positions": positions.tolist(),
               "loss": float(loss), "grads": grads}, open(os.path.join(folder, "expected.json"), "w"))
    export_task_onnx(folder, kind + ".", model, {"qa_outputs.weight": head.weight.detach(), "qa_outputs.bias": head.bias.detach()},
                     lambda o, m, M: tuple(x.squeeze(-1) for x in M("qa_outputs")(o[0]).split(1, dim=-1)), ids, pad, types=types if kind == "bert" else None,
                     outputs=("start_logits", "end_logits"), per_token=True)

# ModernBertForQuestionAnswering (modernbert-qa/, under model.): its head (head.dense without a bias, GELU, head.norm
# without a bias) at every position, dropout (classifier_dropout, 0), then classifier [2, d] (start, end), as its token
# classifier. expected.json: the start and end logits of the padded batch, and on a batch without padding the loss (one
# answer past the sequence, ignored) and every gradient. Own seeds, last in the file.
torch.manual_seed(96)
qa_model = ModernBert()
randomize_modernbert(qa_model); round_to(qa_model, torch.float32)
g = torch.Generator().manual_seed(97)
qa_head = {k: nn.Parameter(v) for k, v in {"head.dense.weight": rnd(D, D), "head.norm.weight": 1 + rnd(D, s=0.2), "classifier.weight": rnd(2, D), "classifier.bias": rnd(2, s=0.1)}.items()}
def modernbert_qa_logits(ids, mask):
    hidden, _ = qa_model(ids, mask, torch.zeros_like(ids))
    h = torch.nn.functional.layer_norm(gelu(hidden @ qa_head["head.dense.weight"].T), (D,), qa_head["head.norm.weight"], None, 1e-5)
    return h @ qa_head["classifier.weight"].T + qa_head["classifier.bias"]
mask = (modernbert_ids != 0).long()
logits = modernbert_qa_logits(modernbert_ids, mask).detach()
train_ids = torch.tensor([[2, 8, 9, 3, 12, 10, 14, 17, 3], [2, 15, 20, 7, 3, 13, 11, 19, 3], [2, 5, 3, 16, 18, 21, 22, 6, 3], [2, 6, 6, 3, 9, 9, 12, 25, 3]])
positions = torch.tensor([[5, 6], [6, 8], [0, 0], [9, 9]])  # the last row's answer is past the sequence: ignored
out = modernbert_qa_logits(train_ids, torch.ones_like(train_ids))
T = train_ids.shape[1]
loss = (nn.functional.cross_entropy(out[..., 0], positions[:, 0].clamp(0, T), ignore_index=T) + nn.functional.cross_entropy(out[..., 1], positions[:, 1].clamp(0, T), ignore_index=T)) / 2
loss.backward()
grads = {n0: r(p.grad) for n0, p in qa_model.named_parameters()}
grads.update({k: r(v.grad) for k, v in qa_head.items()})
task_folder("modernbert-qa", "model.", qa_model, {k: v.detach() for k, v in qa_head.items()}, dict(modernbert_config, architectures=["ModernBertForQuestionAnswering"]),
            {"input_ids": modernbert_ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": torch.zeros_like(modernbert_ids).tolist(),
             "start_logits": r(logits[..., 0]), "end_logits": r(logits[..., 1]),
             "train_input_ids": train_ids.tolist(), "train_token_type_ids": torch.zeros_like(train_ids).tolist(), "positions": positions.tolist(),
             "loss": float(loss), "grads": grads})
open(os.path.join("modernbert-qa", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
export_task_onnx("modernbert-qa", "model.", qa_model, {k: v.detach() for k, v in qa_head.items()},
                 lambda o, m, M: tuple(x.squeeze(-1) for x in M("classifier")(modernbert_head(o[0], M)).split(1, dim=-1)), modernbert_ids, 0,
                 outputs=("start_logits", "end_logits"), per_token=True)

# RoFormer (modeling_roformer.py), roformer/: a bare RoFormerModel as its checkpoints name it (F32, "roformer." prefix):
# BERT's word and token-type embeddings of embedding_size E < hidden_size and their LayerNorm, no position table,
# embeddings_project to D, BERT's post-norm layers whose queries and keys turn by RoFormer's rotary positions: its
# encoder.embed_positions table (sin of pos / 10000^(2i/hd) in the first half, cos in the second, formed in numpy's double
# and stored as float32), pairs (2i, 2i + 1) rotated (apply_rotary_position_embeddings). roformer-classifier/:
# RoFormerForSequenceClassification (classifier.dense + GELU on the first token, then classifier.out_proj), 3 labels.
# Own seeds, last in the file.
import numpy as np


def roformer_table(n_pos, dim):  # RoFormerSinusoidalPositionalEmbedding._init_weight
    enc = np.array([[pos / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for pos in range(n_pos)])
    out = torch.zeros(n_pos, dim, dtype=torch.float32)
    out[:, 0:dim // 2] = torch.FloatTensor(np.sin(enc[:, 0::2]))
    out[:, dim // 2:] = torch.FloatTensor(np.cos(enc[:, 1::2]))
    return out


class RoFormer(Bert):
    def __init__(self, E):
        super().__init__()
        e = self.embeddings
        e.word_embeddings = nn.Embedding(len(VOCAB), E); e.token_type_embeddings = nn.Embedding(2, E); e.LayerNorm = nn.LayerNorm(E, eps=1e-12)
        del e.position_embeddings
        self.embeddings_project = nn.Linear(E, D)
        del self.pooler
        self.register_buffer("embed_positions", roformer_table(P, D // H))

    def forward(self, ids, mask, types):
        e = self.embeddings
        x = self.embeddings_project(e.LayerNorm(e.word_embeddings(ids) + e.token_type_embeddings(types)))
        B, T, _ = x.shape
        hd = D // H
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        sin, cos = self.embed_positions[:T].to(x.dtype).chunk(2, dim=-1)
        sin_pos, cos_pos = (torch.stack([t, t], dim=-1).reshape(T, hd) for t in (sin, cos))
        rotate = lambda t: t * cos_pos + torch.stack([-t[..., 1::2], t[..., ::2]], dim=-1).reshape_as(t) * sin_pos
        for l in self.encoder.layer:
            s = l.attention.self
            q, k, v = (m(x).view(B, T, H, hd).transpose(1, 2) for m in (s.query, s.key, s.value))
            q, k = rotate(q), rotate(k)
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, -1)
            c = (a @ v).transpose(1, 2).reshape(B, T, D)
            x = l.attention.output.LayerNorm(x + l.attention.output.dense(c))
            x = l.output.LayerNorm(x + l.output.dense(gelu(l.intermediate.dense(x))))
        return x, None


torch.manual_seed(150)
roformer = RoFormer(8)
roformer_config = dict(bert_config, model_type="roformer", vocab_size=len(VOCAB), embedding_size=8, rotary_value=False, architectures=["RoFormerModel"])
make("roformer", roformer, roformer_config, "F32", prefix="roformer.", extra={"roformer.encoder.embed_positions.weight": ("F32", roformer.embed_positions)})
torch.set_default_dtype(torch.float32)
export_onnx("roformer", roformer, types=True)  # roformer/model.onnx: the bare encoder as PyTorch's exporter writes it, read with its config.json
torch.set_default_dtype(torch.float64)

g = torch.Generator().manual_seed(151)
rnd = lambda *shape, s=0.3: (s * torch.randn(*shape, generator=g)).to(torch.float32).to(torch.float64)
labels = ["negative", "neutral", "positive"]
head = {"classifier.dense.weight": rnd(D, D), "classifier.dense.bias": rnd(D, s=0.1), "classifier.out_proj.weight": rnd(3, D), "classifier.out_proj.bias": rnd(3, s=0.1)}
ids = torch.tensor([[2, 8, 9, 12, 10, 3, 0, 0, 0], [2, 15, 20, 7, 13, 11, 19, 30, 3], [2, 5, 3, 0, 0, 0, 0, 0, 0]])
mask = (ids != 0).long()
types = torch.zeros_like(ids); types[1, 5:] = 1
with torch.no_grad():
    hidden, _ = roformer(ids, mask, types)
    logits = gelu(hidden[:, 0] @ head["classifier.dense.weight"].T + head["classifier.dense.bias"]) @ head["classifier.out_proj.weight"].T + head["classifier.out_proj.bias"]
task_folder("roformer-classifier", "roformer.", roformer, dict(head, **{"roformer.encoder.embed_positions.weight": roformer.embed_positions}),
            dict(roformer_config, architectures=["RoFormerForSequenceClassification"], id2label={str(i): l for i, l in enumerate(labels)}, label2id={l: i for i, l in enumerate(labels)}),
            {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(), "logits": [round(float(v), 9) for v in logits.reshape(-1).tolist()]})
open(os.path.join("roformer-classifier", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
export_task_onnx("roformer-classifier", "roformer.", roformer, head, lambda o, m, M: M("classifier.out_proj")(gelu(M("classifier.dense")(o[0][:, 0]))), ids, 0, types=types)

# RoFormerForMaskedLM (roformer-mlm/): the roformer/ encoder and BERT's cls.predictions narrowing the hidden states to
# embedding_size (dense 16 -> 8, gelu, LayerNorm over 8) before the decoder tied to the 8-wide word embeddings, with
# cls.predictions.bias; expected.json the logits of a batch with [MASK] tokens. Own seed, last in the file.
g = torch.Generator().manual_seed(152)
rmlm = {"cls.predictions.transform.dense.weight": rnd(8, D), "cls.predictions.transform.dense.bias": rnd(8, s=0.1),
        "cls.predictions.transform.LayerNorm.weight": 1 + rnd(8, s=0.2), "cls.predictions.transform.LayerNorm.bias": rnd(8, s=0.1), "cls.predictions.bias": rnd(len(VOCAB), s=0.1)}
rmlm_ids = torch.tensor([[2, 6, 8, 17, 4, 3, 0, 0], [2, 4, 14, 16, 34, 4, 24, 3]])
rmlm_mask = (rmlm_ids != 0).long()
rmlm_logits = masked_lm_logits(roformer, rmlm_ids, rmlm_mask, rmlm, "cls.predictions.transform.", gelu, 1e-12, "cls.predictions.bias")
task_folder("roformer-mlm", "roformer.", roformer, dict(rmlm, **{"cls.predictions.decoder.weight": roformer.embeddings.word_embeddings.weight.detach(),
                                                                 "roformer.encoder.embed_positions.weight": roformer.embed_positions}),
            dict(roformer_config, architectures=["RoFormerForMaskedLM"]),
            {"input_ids": rmlm_ids.tolist(), "attention_mask": rmlm_mask.tolist(), "logits": [round(float(v), 9) for v in rmlm_logits.reshape(-1).tolist()]})
open(os.path.join("roformer-mlm", "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")

# DeBERTa-v2-xlarge's convolution (deberta-conv/): the deberta/ shape with its ConvLayer after the first layer (conv_kernel_size
# 3, conv_act gelu as deberta-v2-xlarge's config sets them; encoder.conv.conv [d, d, 3] and encoder.conv.LayerNorm): hidden
# states and every gradient, the convolution's included. Own seed, last in the file.
torch.manual_seed(153)
deberta_conv = DebertaV2(DEBERTA_PIECES + 1, 6, 12, conv=3, conv_act="gelu")
make("deberta-conv", deberta_conv, dict(deberta_config, conv_kernel_size=3, conv_act="gelu", conv_groups=1), "F32", ids=deberta_ids, pad=0, vocab=["unused"])
os.remove("deberta-conv/vocab.txt")
shutil.copy("deberta-tokenizer/spm.model", "deberta-conv/spm.model")
torch.set_default_dtype(torch.float32)
export_onnx("deberta-conv", deberta_conv, types=False)  # deberta-conv/model.onnx: as PyTorch's exporter writes it (its Conv node), read from the graph's shapes
torch.set_default_dtype(torch.float64)
