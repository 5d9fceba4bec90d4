"""Writes xlmr-tokenizer/: a small SentencePiece unigram model (nmt_nfkc normalization, as XLM-RoBERTa's) learned from a
multilingual corpus, saved as sentencepiece.bpe.model, and tokenizer_reference.json: the ids XLM-RoBERTa's tokenizer
gives a set of texts, computed as transformers' XLMRobertaTokenizer does (fairseq's numbering: <s> 0, <pad> 1, </s> 2,
<unk> 3, piece p as p + 1, <mask> = pieces + 1; a text as <s> pieces </s>). The transformers package is not installable
here; the numbering is ported from tokenization_xlm_roberta.py. Needs Debian's python3-sentencepiece:
    /usr/bin/python3 make_sentencepiece_reference.py
The last texts hold runs of characters the model does not know: sentencepiece makes one <unk> of each run
(Microsoft.ML.Tokenizers 2.0.1 makes one per character, which the library merges)."""
import json, os
import sentencepiece as spm

os.makedirs("xlmr-tokenizer", exist_ok=True)
corpus = ("the film was great and the story was fun . i loved it , but the plot was dull and the end was bad . "
          "not a good movie ; the cast is very good and the best film ever ! it's the worst story i've seen . "
          "Café crème, naïve déjà vu: 12.5% of $3,456 — “quoted” text. Der Film war großartig und die Geschichte machte Spaß. "
          "Le film était génial et l'histoire était amusante. El cine es muy bueno. 東京の映画はとても良かった。 Фильм был отличный.\n") * 20
open("xlmr-tokenizer/corpus.txt", "w", encoding="utf-8").write(corpus)
spm.SentencePieceTrainer.train(input="xlmr-tokenizer/corpus.txt", model_prefix="xlmr-tokenizer/sentencepiece.bpe", vocab_size=120, model_type="unigram",
                               character_coverage=1.0, normalization_rule_name="nmt_nfkc", minloglevel=2)
os.remove("xlmr-tokenizer/corpus.txt"); os.remove("xlmr-tokenizer/sentencepiece.bpe.vocab")
sp = spm.SentencePieceProcessor(model_file="xlmr-tokenizer/sentencepiece.bpe.model")
texts = ["the film was great and fun.", "I loved it, but the plot was DULL!", "Café crème naïve déjà vu", "12.5% of $3,456 — “quoted”",
         "  leading spaces and trailing  ", "emoji 😀 and 東京", "Der Film war großartig", "Le film était génial", "Фильм был отличный",
         "ﬁ ligature", "tabs\tand\nnewlines", "x", "", "emoji 😀😀 and ☃☃☃", "x😀y", "😀 😀", "qqq zzz QQQ", "ÿÿ ŋŋ"]
ids = [[0] + [p + 1 if p != 0 else 3 for p in sp.encode(t)] + [2] for t in texts]
json.dump({"texts": texts, "ids": ids, "pieces": sp.get_piece_size()}, open("xlmr-tokenizer/tokenizer_reference.json", "w", encoding="utf-8"), ensure_ascii=False)

# albert-tokenizer/: ALBERT's layout (albert-base-v2's spiece.model): <pad> 0, <unk> 1, then the control pieces [CLS] 2,
# [SEP] 3, [MASK] 4, then the learned pieces; ids are the model's own. tokenizer_reference.json: the ids of the same texts
# (and a few more that exercise ALBERT's text rules) as transformers' AlbertTokenizerFast gives them (tokenizer.json's
# normalizers, ported from convert_slow_tokenizer.py's AlbertConverter: `` and '' as ", NFKD and accents stripped, lower
# case, then the model's own normalization; a text as [CLS] pieces [SEP]). The slow AlbertTokenizer also re-splits a
# piece ending in a digit and a comma ("▁9," as "▁9" ","); the fast one, AutoTokenizer's default, does not, nor does this.
import unicodedata
os.makedirs("albert-tokenizer", exist_ok=True)
open("albert-tokenizer/corpus.txt", "w", encoding="utf-8").write(corpus.lower())
spm.SentencePieceTrainer.train(input="albert-tokenizer/corpus.txt", model_prefix="albert-tokenizer/spiece", vocab_size=90, model_type="unigram",
                               character_coverage=1.0, normalization_rule_name="nmt_nfkc", pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
                               control_symbols=["[CLS]", "[SEP]", "[MASK]"], minloglevel=2)
os.remove("albert-tokenizer/corpus.txt"); os.remove("albert-tokenizer/spiece.vocab")
sp = spm.SentencePieceProcessor(model_file="albert-tokenizer/spiece.model")
assert [sp.id_to_piece(i) for i in range(5)] == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]


def albert_normalize(text):
    text = text.replace("``", '"').replace("''", '"')
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.lower()


albert_texts = texts + ["``Quoted'' twice", "The Film Was GREAT", "Ça été naïve", "the  film   was\u00a0great"]
ids = [[2] + sp.encode(albert_normalize(t)) + [3] for t in albert_texts]
json.dump({"texts": albert_texts, "ids": ids, "pieces": sp.get_piece_size()}, open("albert-tokenizer/tokenizer_reference.json", "w", encoding="utf-8"), ensure_ascii=False)

# deberta-tokenizer/: DeBERTa-v3's layout (its spm.model): [PAD] 0, [CLS] 1, [SEP] 2, [UNK] 3 as the model's pad, bos,
# eos and unk pieces, then the learned ones; [MASK] is not a piece (transformers adds it after them). The ids of the
# texts as DebertaV2Tokenizer gives them (do_lower_case false, split_by_punct false: the model's own encoding; a text as
# [CLS] pieces [SEP]).
os.makedirs("deberta-tokenizer", exist_ok=True)
open("deberta-tokenizer/corpus.txt", "w", encoding="utf-8").write(corpus)
spm.SentencePieceTrainer.train(input="deberta-tokenizer/corpus.txt", model_prefix="deberta-tokenizer/spm", vocab_size=100, model_type="unigram",
                               character_coverage=1.0, normalization_rule_name="nmt_nfkc", pad_id=0, bos_id=1, eos_id=2, unk_id=3,
                               pad_piece="[PAD]", bos_piece="[CLS]", eos_piece="[SEP]", unk_piece="[UNK]", minloglevel=2)
os.remove("deberta-tokenizer/corpus.txt"); os.remove("deberta-tokenizer/spm.vocab")
sp = spm.SentencePieceProcessor(model_file="deberta-tokenizer/spm.model")
assert [sp.id_to_piece(i) for i in range(4)] == ["[PAD]", "[CLS]", "[SEP]", "[UNK]"]
ids = [[1] + sp.encode(t) + [2] for t in albert_texts]
json.dump({"texts": albert_texts, "ids": ids, "pieces": sp.get_piece_size()}, open("deberta-tokenizer/tokenizer_reference.json", "w", encoding="utf-8"), ensure_ascii=False)

# camembert-tokenizer/: CamemBERT's numbering (camembert-base: a SentencePiece model of XLM-RoBERTa's kind, <unk> 0, <s> 1,
# </s> 2, read by CamembertTokenizer): xlmr-tokenizer's model with a tokenizer_config.json naming CamembertTokenizer; the
# ids as its _convert_token_to_id gives them (fairseq_offset 4: piece p as p + 4, the model's <unk> as unk_token_id 3;
# <s>NOTUSED 0, <pad> 1, </s>NOTUSED 2, <unk> 3, <unk>NOTUSED 4 ahead; a text as <s> pieces </s>: 5 ... 6).
import shutil
os.makedirs("camembert-tokenizer", exist_ok=True)
shutil.copy("xlmr-tokenizer/sentencepiece.bpe.model", "camembert-tokenizer/sentencepiece.bpe.model")
json.dump({"tokenizer_class": "CamembertTokenizer", "model_max_length": 512}, open("camembert-tokenizer/tokenizer_config.json", "w"))
sp = spm.SentencePieceProcessor(model_file="camembert-tokenizer/sentencepiece.bpe.model")
assert [sp.id_to_piece(i) for i in range(3)] == ["<unk>", "<s>", "</s>"]
ids = [[1 + 4] + [p + 4 if p != 0 else 3 for p in sp.encode(t)] + [2 + 4] for t in texts]
json.dump({"texts": texts, "ids": ids, "pieces": sp.get_piece_size()}, open("camembert-tokenizer/tokenizer_reference.json", "w", encoding="utf-8"), ensure_ascii=False)
