"""Peer for the scaling curves: the reference encoder classifier (torch_ref.py's shapes: d 256, 4 heads, 4 layers, FFN 1024,
pre-norm, GELU, vocabulary 8000) at one (sequence, batch), training or inference, in a process of its own so that its
peak resident memory (ru_maxrss) is that shape's. Timed over at least --steps steps and one second. Prints one JSON line.
Usage: /usr/bin/python3 torch_scaling.py --mode train|infer --seq T --batch B [--steps N --threads 2]"""
import argparse, json, resource, time
import torch, torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument('--mode', choices=['train', 'infer'], required=True)
p.add_argument('--seq', type=int, required=True); p.add_argument('--batch', type=int, required=True)
p.add_argument('--steps', type=int, default=3); p.add_argument('--threads', type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(0)
d, heads, layers, ffn, vocab = 256, 4, 4, 1024, 8000

class Encoder(nn.Module):
    def __init__(s):
        super().__init__()
        s.tok = nn.Embedding(vocab, d); s.pos = nn.Embedding(a.seq, d)
        layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout=0.1, activation='gelu', batch_first=True, norm_first=True)
        s.enc = nn.TransformerEncoder(layer, layers); s.norm = nn.LayerNorm(d); s.head = nn.Linear(d, 2)
    def forward(s, x):
        h = s.norm(s.enc(s.tok(x) + s.pos(torch.arange(x.shape[1]))))
        return s.head(h.mean(1))

m = Encoder()
x = torch.randint(0, vocab, (a.batch, a.seq)); y = torch.randint(0, 2, (a.batch,))
if a.mode == 'train':
    opt = torch.optim.AdamW(m.parameters(), lr=3e-4); lossf = nn.CrossEntropyLoss()
    def step():
        loss = lossf(m(x), y); opt.zero_grad(); loss.backward(); opt.step()
else:
    m.eval()
    def step():
        with torch.no_grad(): m(x)
step()
# At least --steps steps and at least one second, so the small shapes (a few ms a step) are not timed on two steps.
t = time.perf_counter(); n = 0
while n < a.steps or time.perf_counter() - t < 1.0:
    step(); n += 1
rate = n * a.batch * a.seq / (time.perf_counter() - t)
print(json.dumps(dict(mode=a.mode, seq=a.seq, batch=a.batch, tokens_per_s=round(rate), peak_memory_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), torch=torch.__version__)))
