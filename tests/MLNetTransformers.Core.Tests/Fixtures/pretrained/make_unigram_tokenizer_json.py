"""Writes xlmr-tokenizer/tokenizer.json from xlmr-tokenizer/sentencepiece.bpe.model as Hugging Face's
XLMRobertaConverter (convert_slow_tokenizer.py) does: a Unigram model whose vocabulary is fairseq's numbering
(<s> <pad> </s> <unk>, the model's pieces from its fourth on with their scores, <mask> last; unk_id 3), the model's
precompiled character map as a Precompiled normalizer followed by Replace(" {2,}", " "), a Metaspace pre-tokenizer, and
RoBERTa's post-processor. The tokenizers package is not installable here; the layout is ported from the converter.
Needs Debian's python3-sentencepiece (with its protobuf module):
    /usr/bin/python3 make_unigram_tokenizer_json.py"""
import base64, json
from sentencepiece import sentencepiece_model_pb2 as pb

special = lambda i, t, lstrip=False: {"id": i, "content": t, "single_word": False, "lstrip": lstrip, "rstrip": False, "normalized": False, "special": True}
metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}


def write_unigram(path, proto, vocab, unk_id, added_tokens, rules, post_processor):
    """A converter's tokenizer.json: the added tokens, the normalizer rules then the model's precompiled character map and
    Replace(" {2,}", " "), a Metaspace pre-tokenizer and decoder, the post-processor, the Unigram model."""
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added_tokens,
        "normalizer": {"type": "Sequence", "normalizers": rules + [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode()},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": metaspace,
        "post_processor": post_processor,
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": unk_id, "vocab": vocab, "byte_fallback": False},
    }
    json.dump(tokenizer, open(path, "w", encoding="utf-8"), ensure_ascii=False, indent=1)


def bert_template(ids):
    """BERT's post-processor as the converters write it: [CLS] $A [SEP], pairs [CLS] $A [SEP] $B:1 [SEP]:1."""
    return {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")}}


def read_model(path):
    proto = pb.ModelProto()
    proto.ParseFromString(open(path, "rb").read())
    return proto


proto = read_model("xlmr-tokenizer/sentencepiece.bpe.model")
vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]] + [[p.piece, p.score] for p in proto.pieces[3:]] + [["<mask>", 0.0]]
write_unigram("xlmr-tokenizer/tokenizer.json", proto, vocab, 3,
              [special(0, "<s>"), special(1, "<pad>"), special(2, "</s>"), special(3, "<unk>"), special(len(vocab) - 1, "<mask>", lstrip=True)], [],
              {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True, "add_prefix_space": True})

# albert-tokenizer/tokenizer.json from albert-tokenizer/spiece.model as AlbertConverter does (do_lower_case true,
# keep_accents false, as ALBERT's released tokenizers): the model's pieces in its own order (unk_id 1), normalizers
# Replace `` and '' by ", NFKD, StripAccents, Lowercase, the precompiled character map, Replace(" {2,}", " "); Metaspace;
# BERT's template ([CLS] $A [SEP], pairs with type 1).
proto = read_model("albert-tokenizer/spiece.model")
ids = {p.piece: i for i, p in enumerate(proto.pieces)}
write_unigram("albert-tokenizer/tokenizer.json", proto, [[p.piece, p.score] for p in proto.pieces], ids["<unk>"],
              [special(ids[t], t, lstrip=t == "[MASK]") for t in ("<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]")],
              [{"type": "Replace", "pattern": {"String": "``"}, "content": "\""}, {"type": "Replace", "pattern": {"String": "''"}, "content": "\""},
               {"type": "NFKD"}, {"type": "StripAccents"}, {"type": "Lowercase"}], bert_template(ids))

# deberta-tokenizer/tokenizer.json from deberta-tokenizer/spm.model as DebertaV2Converter does (do_lower_case false, as
# DeBERTa-v3's): the model's pieces in its own order (unk_id 3), [MASK] as an added token after them, normalizers Strip,
# the precompiled character map, Replace(" {2,}", " "); Metaspace; BERT's template.
proto = read_model("deberta-tokenizer/spm.model")
ids = {p.piece: i for i, p in enumerate(proto.pieces)}
ids["[MASK]"] = len(proto.pieces)
write_unigram("deberta-tokenizer/tokenizer.json", proto, [[p.piece, p.score] for p in proto.pieces], ids["[UNK]"],
              [special(ids[t], t, lstrip=t == "[MASK]") for t in ("[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]")],
              [{"type": "Strip", "strip_left": True, "strip_right": True}], bert_template(ids))

# camembert-tokenizer/tokenizer.json from its sentencepiece.bpe.model as CamembertConverter does: <s>NOTUSED <pad>
# </s>NOTUSED <unk> <unk>NOTUSED (-100) ahead of the model's pieces from its second on (its own <s> and </s> among them) with
# their scores, <mask> last; unk_id 3; the precompiled character map and Replace(" {2,}", " "); Metaspace; the template
# <s> $A </s>, pairs <s> $A </s> </s> $B </s>, with <s> and </s> the model's own pieces moved up by 4.
proto = read_model("camembert-tokenizer/sentencepiece.bpe.model")
vocab = [["<s>NOTUSED", 0.0], ["<pad>", 0.0], ["</s>NOTUSED", 0.0], ["<unk>", 0.0], ["<unk>NOTUSED", -100.0]] + [[p.piece, p.score] for p in proto.pieces[1:]] + [["<mask>", 0.0]]
ids = {t: i for i, (t, _) in enumerate(vocab)}
write_unigram("camembert-tokenizer/tokenizer.json", proto, vocab, 3,
              [special(0, "<s>NOTUSED"), special(1, "<pad>"), special(2, "</s>NOTUSED"), special(3, "<unk>"), special(4, "<unk>NOTUSED"), special(ids["<mask>"], "<mask>", lstrip=True)], [],
              {"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
               "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                        {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
               "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("<s>", "</s>")}})
