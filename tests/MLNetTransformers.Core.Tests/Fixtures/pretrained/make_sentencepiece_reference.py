"""Writes xlmr-tokenizer/: a small SentencePiece unigram model (nmt_nfkc normalization, as XLM-RoBERTa's) learned from a
multilingual corpus, saved as sentencepiece.bpe.model, and tokenizer_reference.json: the ids XLM-RoBERTa's tokenizer
gives a set of texts, computed as transformers' XLMRobertaTokenizer does (fairseq's numbering: <s> 0, <pad> 1, </s> 2,
<unk> 3, piece p as p + 1, <mask> = pieces + 1; a text as <s> pieces </s>). The transformers package is not installable
here; the numbering is ported from tokenization_xlm_roberta.py. Needs Debian's python3-sentencepiece:
    /usr/bin/python3 make_sentencepiece_reference.py
Texts with two unknown characters in a row are left out: sentencepiece makes one <unk> of them, Microsoft.ML.Tokenizers
2.0.1 one per character (docs/pretrained.md)."""
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
         "ﬁ ligature", "tabs\tand\nnewlines", "x", ""]
ids = [[0] + [p + 1 if p != 0 else 3 for p in sp.encode(t)] + [2] for t in texts]
json.dump({"texts": texts, "ids": ids, "pieces": sp.get_piece_size()}, open("xlmr-tokenizer/tokenizer_reference.json", "w", encoding="utf-8"), ensure_ascii=False)
