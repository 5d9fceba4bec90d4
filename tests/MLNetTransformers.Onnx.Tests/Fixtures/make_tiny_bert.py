"""Writes tiny_bert.onnx and tiny_bert.json: a small BERT-style encoder exported by PyTorch's own ONNX exporter
(inputs input_ids, attention_mask, token_type_ids; output last_hidden_state), and its PyTorch outputs, so the tests
can run a model this project did not make. Needs Debian's python3-torch (../shared/peers/install.sh):
    /usr/bin/python3 make_tiny_bert.py"""
import json
import torch, torch.nn as nn

torch.manual_seed(0)

class TinyBert(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(30, 16); self.pos = nn.Embedding(8, 16); self.typ = nn.Embedding(2, 16)
        self.norm = nn.LayerNorm(16)
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation='gelu', batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        h = self.norm(self.tok(input_ids) + self.pos(positions) + self.typ(token_type_ids))
        return self.enc(h, src_key_padding_mask=attention_mask == 0)

model = TinyBert().eval()
ids = torch.tensor([[2, 5, 7, 9, 3, 0], [2, 11, 3, 0, 0, 0]])
mask = (ids != 0).long()
types = torch.zeros_like(ids)
axes = {0: 'batch', 1: 'sequence'}
torch.onnx.export(model, (ids, mask, types), 'tiny_bert.onnx', opset_version=14,
                  input_names=['input_ids', 'attention_mask', 'token_type_ids'], output_names=['last_hidden_state'],
                  dynamic_axes={'input_ids': axes, 'attention_mask': axes, 'token_type_ids': axes, 'last_hidden_state': axes})
out = model(ids, mask, types)  # gradients enabled: PyTorch's reference (non-fast) path
json.dump({'input_ids': ids.tolist(), 'attention_mask': mask.tolist(), 'last_hidden_state': out.detach().tolist()},
          open('tiny_bert.json', 'w'))
