"""Writes xlmr-tokenizer/tokenizer.json from xlmr-tokenizer/sentencepiece.bpe.model as Hugging Face's
XLMRobertaConverter (convert_slow_tokenizer.py) does: a Unigram model whose vocabulary is fairseq's numbering
(<s> <pad> </s> <unk>, the model's pieces from its fourth on with their scores, <mask> last; unk_id 3), the model's
precompiled character map as a Precompiled normalizer followed by Replace(" {2,}", " "), a Metaspace pre-tokenizer, and
RoBERTa's post-processor. The tokenizers package is not installable here; the layout is ported from the converter.
Needs Debian's python3-sentencepiece (with its protobuf module):
    /usr/bin/python3 make_unigram_tokenizer_json.py"""
import base64, json
from sentencepiece import sentencepiece_model_pb2 as pb

proto = pb.ModelProto()
proto.ParseFromString(open("xlmr-tokenizer/sentencepiece.bpe.model", "rb").read())
vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]] + [[p.piece, p.score] for p in proto.pieces[3:]] + [["<mask>", 0.0]]
special = lambda i, t, lstrip=False: {"id": i, "content": t, "single_word": False, "lstrip": lstrip, "rstrip": False, "normalized": False, "special": True}
tokenizer = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [special(0, "<s>"), special(1, "<pad>"), special(2, "</s>"), special(3, "<unk>"), special(len(vocab) - 1, "<mask>", lstrip=True)],
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode()},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
    "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True, "add_prefix_space": True},
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
    "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
}
json.dump(tokenizer, open("xlmr-tokenizer/tokenizer.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)
