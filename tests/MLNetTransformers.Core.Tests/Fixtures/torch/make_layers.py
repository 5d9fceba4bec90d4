"""Makes the layer fixtures: simplified_self_attention, mha_bidirectional, mha_causal, mha_padding_mask,
cross_attention, layer_norm, gelu, encoder_layer_postnorm, encoder_layer_prenorm and decoder_lm_tiny (.json).

PyTorch 1.13 references in float64 (nn.MultiheadAttention, nn.LayerNorm, GELU, nn.TransformerEncoderLayer and a
GPT-style decoder built from it). Gradients are of sum(output * R) with a stored random R, except decoder_lm_tiny's,
which are of its mean cross-entropy. Tensor names are PyTorch's with '.' replaced by '_'; gradients are "grad_" + name.
Each file: {"name", "notes", "tensors": {NAME: {"shape", "data"}}}. Run: /usr/bin/python3 make_layers.py (after
../shared/peers/install.sh). The random draws differ from the first versions of these files (whose script was not
kept); the tests read whatever values a file holds.
"""
import json, math, os, torch, torch.nn as nn

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
MHA_NOTES = ("nn.MultiheadAttention: in_proj_weight [3d,d] stacks Wq;Wk;Wv, y = x W^T + b; scale 1/sqrt(d/h); attn_mask True = "
             "blocked (causal: j>i); key_padding_mask 1 = padded key (ignored). weights: per head [B,h,T,T]. Grads are of sum(y*R). "
             "Padded query rows are still computed (only keys are masked).")
LAYER_NOTES = ("nn.TransformerEncoderLayer(d=16,h=4,ffn=32,gelu exact,dropout 0). post-norm: x=LN1(x+SA(x)); x=LN2(x+FF(x)). "
               "pre-norm: x=x+SA(LN1(x)); x=x+FF(LN2(x)). FF = linear2(gelu(linear1(x))).")


def write(name, notes, tensors):
    out = {k: {"shape": list(t.shape), "data": [float(x) for x in t.detach().reshape(-1)]} for k, t in tensors.items()}
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump({"name": name, "notes": notes, "tensors": out}, f)
    print("wrote", name)


def params(module, prefix=""):
    """Every parameter and its gradient, PyTorch's names with '.' → '_'."""
    d = {}
    for n, p in module.named_parameters():
        key = prefix + n.replace(".", "_")
        d[key] = p
        d["grad_" + key] = p.grad
    return d


def perturb(module, scale=0.2):
    with torch.no_grad():  # off the default init (LayerNorm 1/0, zero biases), so every path matters
        for p in module.parameters():
            p.add_(torch.randn_like(p) * scale)


# softmax(X X^T) X on the six 3-d embeddings of "Your journey starts with one step".
x = torch.tensor([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64], [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]])
w = torch.softmax(x @ x.T, dim=-1)
write("simplified_self_attention", "weights = softmax(X X^T, rows); context = weights X. No scaling, no projections.",
      {"x": x, "weights": w, "context": w @ x})


def mha(name, causal=False, padding=False):
    B, T, D, H = 2, 5, 16, 4
    m = nn.MultiheadAttention(D, H, batch_first=True)
    perturb(m, 0.1)
    x = torch.randn(B, T, D, requires_grad=True)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1) if causal else None
    kpm = torch.tensor([[False] * 5, [False, False, False, True, True]]) if padding else None
    y, weights = m(x, x, x, attn_mask=mask, key_padding_mask=kpm, need_weights=True, average_attn_weights=False)
    R = torch.randn_like(y)
    (y * R).sum().backward()
    t = {"x": x, "in_proj_weight": m.in_proj_weight, "in_proj_bias": m.in_proj_bias, "out_proj_weight": m.out_proj.weight,
         "out_proj_bias": m.out_proj.bias, "y": y, "weights": weights, "R": R, "grad_x": x.grad,
         "grad_in_proj_weight": m.in_proj_weight.grad, "grad_in_proj_bias": m.in_proj_bias.grad,
         "grad_out_proj_weight": m.out_proj.weight.grad, "grad_out_proj_bias": m.out_proj.bias.grad}
    if padding:
        t["key_padding_mask"] = kpm.double()
    write(name, MHA_NOTES, t)


mha("mha_bidirectional")
mha("mha_causal", causal=True)
mha("mha_padding_mask", padding=True)

# Cross-attention: queries [2,3,16] over memory [2,6,16], 2 heads.
m = nn.MultiheadAttention(16, 2, batch_first=True)
perturb(m, 0.1)
q = torch.randn(2, 3, 16, requires_grad=True)
memory = torch.randn(2, 6, 16, requires_grad=True)
y, weights = m(q, memory, memory, need_weights=True, average_attn_weights=False)
R = torch.randn_like(y)
(y * R).sum().backward()
write("cross_attention", "queries from q [B,Tq,d]; keys/values from memory [B,Tk,d]; same conventions as mha_*.",
      {"q": q, "memory": memory, "in_proj_weight": m.in_proj_weight, "in_proj_bias": m.in_proj_bias,
       "out_proj_weight": m.out_proj.weight, "out_proj_bias": m.out_proj.bias, "y": y, "weights": weights, "R": R,
       "grad_q": q.grad, "grad_memory": memory.grad})

# LayerNorm(8).
ln = nn.LayerNorm(8)
perturb(ln, 0.5)
x = torch.randn(3, 8, requires_grad=True)
y = ln(x)
R = torch.randn_like(y)
(y * R).sum().backward()
write("layer_norm", "nn.LayerNorm(8), eps 1e-5, biased variance.",
      {"x": x, "weight": ln.weight, "bias": ln.bias, "y": y, "R": R, "grad_x": x.grad, "grad_weight": ln.weight.grad, "grad_bias": ln.bias.grad})

# GELU, exact and tanh, on -6..6 in steps of 0.25.
x1 = torch.linspace(-6, 6, 49, requires_grad=True)
x2 = x1.detach().clone().requires_grad_(True)
R = torch.randn(49)
y_erf = nn.functional.gelu(x1)
(y_erf * R).sum().backward()
y_tanh = nn.functional.gelu(x2, approximate="tanh")
(y_tanh * R).sum().backward()
write("gelu", "y_erf = exact GELU (x*Phi(x)); y_tanh = tanh approximation (GPT-2).",
      {"x": x1, "y_erf": y_erf, "grad_x_erf": x1.grad, "y_tanh": y_tanh, "grad_x_tanh": x2.grad, "R": R})


def encoder_layer(pre, heads=4):
    return nn.TransformerEncoderLayer(16, heads, 32, dropout=0.0, activation="gelu", batch_first=True, norm_first=pre)


for pre in (False, True):
    layer = encoder_layer(pre)
    perturb(layer, 0.1)
    layer.train()  # keeps PyTorch off its inference fast path
    x = torch.randn(2, 5, 16, requires_grad=True)
    y = layer(x)
    R = torch.randn_like(y)
    (y * R).sum().backward()
    write("encoder_layer_" + ("prenorm" if pre else "postnorm"), LAYER_NOTES, {"x": x, "y": y, "R": R, "grad_x": x.grad, **params(layer)})


# GPT-style LM: token + learned positions, 2 pre-norm causal layers of 2 heads, final LayerNorm, linear head.
class TinyLm(nn.Module):
    def __init__(s, V=11, T=6, D=16):
        super().__init__()
        s.tok = nn.Embedding(V, D)
        s.pos = nn.Embedding(T, D)
        s.layers = nn.ModuleList([encoder_layer(True, heads=2) for _ in range(2)])
        s.lnf = nn.LayerNorm(D)
        s.head = nn.Linear(D, V)

    def forward(s, ids):
        T = ids.shape[1]
        h = s.tok(ids) + s.pos(torch.arange(T))[None]
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        for layer in s.layers:
            h = layer(h, src_mask=causal)
        return s.head(s.lnf(h))


lm = TinyLm()
perturb(lm, 0.1)
lm.train()
ids = torch.randint(0, 11, (2, 6))
targets = torch.randint(0, 11, (2, 6))
logits = lm(ids)
loss = nn.functional.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1))
loss.backward()
write("decoder_lm_tiny", "ids/targets int as float. logits [B,T,V]; loss = mean cross-entropy over B*T; grads of loss. "
      "Causal mask j>i blocked. Layers as encoder_layer_prenorm with 2 heads and causal self-attention.",
      {"ids": ids.double(), "targets": targets.double(), "logits": logits, "loss": loss.reshape(1), **params(lm)})
