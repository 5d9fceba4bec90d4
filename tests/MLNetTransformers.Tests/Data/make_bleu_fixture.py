"""Makes bleu-fixture.json: hypothesis/reference pairs and their corpus BLEU computed independently by NLTK
(Debian's python3-nltk 3.8, corpus_bleu, uniform 4-gram weights, no smoothing) over text tokenized as sacreBLEU's
13a tokenizer does (its regular expressions, re-implemented below). Run: /usr/bin/python3 make_bleu_fixture.py
"""
import json, os, random, re
from nltk.translate.bleu_score import corpus_bleu

_13A = [
    (re.compile(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])'), r' \1 '),
    (re.compile(r'([^0-9])([\.,])'), r'\1 \2 '),
    (re.compile(r'([\.,])([^0-9])'), r' \1 \2'),
    (re.compile(r'([0-9])(-)'), r'\1 \2 '),
]

def tok13a(line):
    line = line.replace('<skipped>', '').replace('-\n', '').replace('\n', ' ')
    if '&' in line:
        line = line.replace('&quot;', '"').replace('&amp;', '&').replace('&lt;', '<').replace('&gt;', '>')
    line = f' {line} '
    for r, s in _13A:
        line = r.sub(s, line)
    return line.split()

random.seed(7)
words = "a the man woman dog child ball red blue green runs sits plays with on in near big small two three street park water".split()
extras = ["3.5", "1,000", "10-12", "don't", "(left)", "\"quoted\"", "&amp;", "e-mail", "U.S.", "50%", "$20", "well-known"]
def sentence(n):
    s = [random.choice(words + extras if random.random() < 0.2 else words) for _ in range(n)]
    return " ".join(s) + random.choice([".", "!", "?", ",", ""])
refs, hyps = [], []
for i in range(120):
    r = sentence(random.randint(4, 14))
    w = r.split()
    h = [x if random.random() < 0.7 else random.choice(words) for x in w]
    if random.random() < 0.3: h = h[: max(1, len(h) - random.randint(1, 3))]
    if random.random() < 0.2: h = h + [random.choice(words)]
    # NLTK counts one (empty) n-gram for a hypothesis shorter than n tokens where sacreBLEU counts none: keep
    # every hypothesis at 4 tokens or more so that the two definitions coincide.
    if len(tok13a(" ".join(h))) < 4: continue
    refs.append(r); hyps.append(" ".join(h))
bleu = corpus_bleu([[tok13a(r)] for r in refs], [tok13a(h) for h in hyps]) * 100
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bleu-fixture.json"), "w") as f:
    json.dump({"hypotheses": hyps, "references": refs, "nltk_corpus_bleu": bleu,
               "tokens_13a": [tok13a(h) for h in hyps], "ref_tokens_13a": [tok13a(r) for r in refs]}, f, indent=0)
print("BLEU", bleu)
