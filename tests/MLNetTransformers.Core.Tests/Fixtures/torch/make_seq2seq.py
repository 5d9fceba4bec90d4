"""Makes seq2seq_prenorm.json and seq2seq_postnorm.json: PyTorch 1.13 references (float64) for TransformerSeq2Seq.

The model is nn.TransformerEncoder + nn.TransformerDecoder (the pieces of nn.Transformer; final LayerNorms only for
pre-norm, as MLNetTransformers' stacks have them), token + learned position embeddings on each side, a linear head,
mean cross-entropy over the targets that are not -100. Tensor names are the library's parameter names with '.'
replaced by '_'; gradients are "grad_" + name. Run: /usr/bin/python3 make_seq2seq.py (after ../shared/peers/install.sh).
"""
import json, os, torch, torch.nn as nn

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
V, D, H, L, F, MAXLEN = 13, 16, 2, 2, 32, 8


class Side(nn.Module):
    def __init__(s, layer, norm):
        super().__init__()
        s.tok = nn.Embedding(V, D)
        s.pos = nn.Embedding(MAXLEN, D)
        s.stack = (nn.TransformerEncoder if isinstance(layer, nn.TransformerEncoderLayer) else nn.TransformerDecoder)(layer, L, norm=norm)

    def embed(s, ids):
        return s.tok(ids) + s.pos(torch.arange(ids.shape[1]))[None]


def make(pre):
    enc_layer = nn.TransformerEncoderLayer(D, H, F, dropout=0.0, activation='gelu', batch_first=True, norm_first=pre)
    dec_layer = nn.TransformerDecoderLayer(D, H, F, dropout=0.0, activation='gelu', batch_first=True, norm_first=pre)
    enc = Side(enc_layer, nn.LayerNorm(D) if pre else None)
    dec = Side(dec_layer, nn.LayerNorm(D) if pre else None)
    head = nn.Linear(D, V)
    for p in list(enc.parameters()) + list(dec.parameters()) + list(head.parameters()):  # off the default init, so every path matters
        with torch.no_grad():
            p.add_(torch.randn_like(p) * 0.2)

    src = torch.tensor([[7, 6, 5, 3, 4], [9, 8, 10, 0, 0]])
    src_pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
    tgt = torch.tensor([[1, 5, 6, 7], [1, 8, 9, 0]])
    tgt_pad = torch.tensor([[False] * 4, [False, False, False, True]])
    targets = torch.tensor([[5, 6, 7, 2], [8, 9, 2, -100]])
    causal = torch.triu(torch.full((4, 4), float('-inf')), diagonal=1)

    enc.train(); dec.train()  # dropout is 0; train mode keeps PyTorch off its inference fast path
    memory = enc.stack(enc.embed(src), src_key_padding_mask=src_pad)
    hidden = dec.stack(dec.embed(tgt), memory, tgt_mask=causal, tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
    logits = head(hidden)
    loss = nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-100)
    loss.backward()

    out = {}
    def put(name, t):
        out[name] = {"shape": list(t.shape), "data": [float(x) for x in t.detach().reshape(-1)]}
    def side(prefix, s):
        put(prefix + "_tok_weight", s.tok.weight); put("grad_" + prefix + "_tok_weight", s.tok.weight.grad)
        put(prefix + "_pos_weight", s.pos.weight); put("grad_" + prefix + "_pos_weight", s.pos.weight.grad)
        for name, p in s.stack.named_parameters():
            key = prefix + "_" + name.replace("norm.", "lnf.").replace(".", "_")
            put(key, p); put("grad_" + key, p.grad)
    side("encoder", enc); side("decoder", dec)
    put("head_weight", head.weight); put("grad_head_weight", head.weight.grad)
    put("head_bias", head.bias); put("grad_head_bias", head.bias.grad)
    put("src", src.double()); put("src_mask", (~src_pad).double())
    put("tgt", tgt.double()); put("tgt_mask", (~tgt_pad).double()); put("targets", targets.double())
    put("logits", logits); put("loss", loss.reshape(1))
    name = "seq2seq_" + ("prenorm" if pre else "postnorm")
    notes = ("nn.TransformerEncoder/Decoder, d=16, 2 heads, 2+2 layers, FFN 32, GELU, dropout 0, " + ("pre-norm with final norms" if pre else "post-norm") +
             "; token + learned position embeddings per side; mean cross-entropy (ignore -100); gradients of that loss")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".json"), "w") as f:
        json.dump({"name": name, "notes": notes, "tensors": out}, f)
    print(name, "loss", float(loss))


make(True)
make(False)
