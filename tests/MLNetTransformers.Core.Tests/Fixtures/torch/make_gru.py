"""Makes gru_bidirectional.json and gru_attention_decoder.json: PyTorch 1.13 references (float64) for the GRU layers.

gru_bidirectional: nn.GRU(4, 6, batch_first=True, bidirectional=True) over packed sequences of lengths 5, 3, 1 (x [3, 5, 4],
padding after each length), initial state h0 [2, 3, 6]; outputs (zeros at padding) and h_n; gradients of
L = sum(output * R_out) + sum(h_n * R_h) for every weight, x and h0. Tensor names are PyTorch's parameter names.
Run: /usr/bin/python3 make_gru.py (after ../shared/peers/install.sh).
"""
import json, os, torch, torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
B, T, I, H = 3, 5, 4, 6
gru = nn.GRU(I, H, batch_first=True, bidirectional=True)
x = torch.randn(B, T, I, requires_grad=True)
lengths = torch.tensor([5, 3, 1])
h0 = torch.randn(2, B, H, requires_grad=True)
packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
out_packed, h_n = gru(packed, h0)
out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=T)
r_out = torch.randn_like(out); r_h = torch.randn_like(h_n)
loss = (out * r_out).sum() + (h_n * r_h).sum()
loss.backward()

tensors = {}
def put(name, t):
    tensors[name] = {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1)]}
for name, p in gru.named_parameters():
    put(name, p); put("grad_" + name, p.grad)
put("x", x); put("grad_x", x.grad); put("h0", h0); put("grad_h0", h0.grad)
put("lengths", lengths.double()); put("output", out); put("h_n", h_n); put("R_out", r_out); put("R_h", r_h)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gru_bidirectional.json"), "w") as f:
    json.dump({"name": "gru_bidirectional", "notes": "nn.GRU(4, 6, bidirectional), packed lengths 5,3,1; L = sum(out*R_out) + sum(h_n*R_h)",
               "tensors": tensors}, f)
print("gru_bidirectional", float(loss))


# gru_attention_seq2seq: the GRU encoder-decoder with additive (Bahdanau) attention as RnnSeq2Seq computes it (the
# shape of ../shared/peers/torch_seq2seq.py, plus packed sources and masked attention): bidirectional GRU encoder over
# embedded, padded sources; s0 = tanh(bridge([h_fwd; h_bwd])); each step: α = softmax(v·tanh(W·[s; h_j])) over the
# unpadded h_j, c = Σ α h_j, s = GRU([e; c], s), logits = out([s; c; e]). Mean cross-entropy over targets != -100.
torch.manual_seed(1)
V, VS, E, HE, HD = 11, 13, 5, 4, 6
K = 2 * HE
m = nn.ModuleDict(dict(
    src_tok=nn.Embedding(VS, E), tgt_tok=nn.Embedding(V, E), encoder=nn.GRU(E, HE, batch_first=True, bidirectional=True),
    bridge=nn.Linear(K, HD), attn_w=nn.Linear(HD + K, HD), attn_v=nn.Linear(HD, 1, bias=False),
    decoder=nn.GRU(E + K, HD, batch_first=True), out=nn.Linear(HD + K + E, V)))
src = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]])
src_len = torch.tensor([5, 3])
tgt = torch.tensor([[1, 5, 6, 7], [1, 8, 9, 0]])
targets = torch.tensor([[5, 6, 7, 2], [8, 9, 2, -100]])
enc_packed, h = m.encoder(pack_padded_sequence(m.src_tok(src), src_len, batch_first=True, enforce_sorted=False))
enc, _ = pad_packed_sequence(enc_packed, batch_first=True, total_length=src.shape[1])
s = torch.tanh(m.bridge(torch.cat([h[0], h[1]], -1)))
valid = torch.arange(src.shape[1])[None, :] < src_len[:, None]
logits = []
for t in range(tgt.shape[1]):
    e = m.tgt_tok(tgt[:, t])
    q = s.unsqueeze(1).expand(-1, enc.shape[1], -1)
    score = m.attn_v(torch.tanh(m.attn_w(torch.cat([q, enc], -1)))).squeeze(-1).masked_fill(~valid, float('-inf'))
    ctx = torch.bmm(torch.softmax(score, -1).unsqueeze(1), enc).squeeze(1)
    o, s2 = m.decoder(torch.cat([e, ctx], -1).unsqueeze(1), s.unsqueeze(0))
    s = s2.squeeze(0)
    logits.append(m.out(torch.cat([s, ctx, e], -1)))
logits = torch.stack(logits, 1)
loss = nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-100)
loss.backward()
tensors = {}
for name, p in m.named_parameters():
    put(name, p); put("grad_" + name, p.grad)
put("src", src.double()); put("src_len", src_len.double()); put("tgt", tgt.double()); put("targets", targets.double())
put("logits", logits); put("loss", loss.reshape(1))
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gru_attention_seq2seq.json"), "w") as f:
    json.dump({"name": "gru_attention_seq2seq", "notes": "GRU encoder-decoder with additive attention, packed sources; mean CE",
               "tensors": tensors}, f)
print("gru_attention_seq2seq", float(loss))
