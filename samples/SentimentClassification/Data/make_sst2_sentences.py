"""Writes sst2-sentences.tsv: 4,000 whole sentences from GLUE SST-2's train.tsv with their sentence labels, for the
sentiment sample's default run. SST-2's training file holds every phrase and sub-phrase of its sentences; the
sentences are the phrases that no other phrase contains (6,885 of them). Shipping whole sentences only (no phrases)
means any split of this file by rows is a split by sentence: nothing of a held-out sentence is trained on.
Deterministic: python3 make_sst2_sentences.py PATH/TO/sst2/train.tsv [count]"""
import random, sys

path = sys.argv[1] if len(sys.argv) > 1 else "../../../../shared/data/sst2/train.tsv"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
rows = [line.rstrip("\n").split("\t") for line in open(path, encoding="utf-8")][1:]
phrases = [(r[0].strip(), int(r[1])) for r in rows]

# Longest first; a phrase is a sentence when no sentence found so far contains it (token-aligned).
# Candidate sentences come from the posting list of the phrase's rarest token.
sentences, postings = [], {}
for text, label in sorted(set(phrases), key=lambda p: (-len(p[0].split()), p[0])):
    tokens = set(text.split())
    lists = [postings.get(t, []) for t in tokens]
    candidates = min(lists, key=len) if lists else []
    padded = f" {text} "
    if any(padded in f" {sentences[s][0]} " for s in candidates):
        continue
    for t in tokens:
        postings.setdefault(t, []).append(len(sentences))
    sentences.append((text, label))

random.seed(2026)
chosen = random.sample(sentences, count)
with open("sst2-sentences.tsv", "w", encoding="utf-8", newline="\n") as f:
    f.write("sentence\tlabel\n")
    for text, label in chosen:
        f.write(f"{text}\t{label}\n")
print(f"{len(sentences)} sentences in {path}; wrote {count} ({sum(l for _, l in chosen)} positive) to sst2-sentences.tsv")
