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
