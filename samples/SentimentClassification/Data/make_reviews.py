"""Writes reviews.tsv: short movie-review sentences composed from hand-written phrase lists, labelled 1 (positive)
or 0 (negative). Negations ("was not dull") and contrasts ("..., but ...", where the second clause decides) make
word order matter. Deterministic: python3 make_reviews.py [rows]"""
import random, sys
random.seed(7)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 2400
subjects = ["the acting","the plot","the soundtrack","the script","the cast","the ending","the dialogue","the cinematography",
 "this movie","this film","the story","the lead performance","the humor","the pacing","the direction","the score","the visual effects",
 "the screenplay","the characters","the final act","the opening scene","the villain","the romance","the editing"]
pos = ["wonderful","brilliant","moving","delightful","charming","gripping","superb","hilarious","beautiful","heartfelt","clever",
 "engaging","stunning","memorable","touching","fresh","masterful","powerful","thrilling","sharp","warm","inventive","captivating","elegant"]
neg = ["dull","boring","awful","clumsy","tedious","predictable","lifeless","painful","forgettable","messy","shallow","incoherent",
 "annoying","bland","flat","terrible","sluggish","pointless","lazy","confusing","cheap","tiresome","overlong","mediocre"]
verbs = ["was","is","felt","seemed"]
intens = ["","","really ","truly ","quite ","remarkably ","utterly ","surprisingly "]
pos_full = ["i loved every minute of it","i would happily watch it again","easily one of the best films of the year",
 "a joy from start to finish","it left me smiling for days","the audience applauded at the end","worth every penny",
 "i was on the edge of my seat","a triumph for everyone involved","it deserves every award it gets","a rare gem",
 "my whole family enjoyed it","i laughed and cried","go see it on the big screen"]
neg_full = ["a waste of two hours","i walked out halfway through","i kept checking my watch","one of the worst films i have seen",
 "i want my money back","nothing about it works","i fell asleep twice","the audience groaned at the end","avoid it at all costs",
 "a complete mess","it never finds its footing","i regret buying a ticket","painful to sit through","skip this one"]
def clause(sentiment):
    s = random.choice(subjects); v = random.choice(verbs); i = random.choice(intens)
    if random.random() < 0.2:  # negation flips the adjective
        adj = random.choice(neg if sentiment else pos)
        return f"{s} {v} not {adj}" + (" at all" if random.random() < 0.5 else "")
    return f"{s} {v} {i}{random.choice(pos if sentiment else neg)}"
rows = set()
while len(rows) < N:
    label = len(rows) % 2
    kind = random.random()
    if kind < 0.35: text = clause(label)
    elif kind < 0.65: text = f"{clause(1-label)}, but {clause(label)}"
    elif kind < 0.85: text = f"{clause(label)} and {clause(label)}"
    else:
        text = random.choice(pos_full if label else neg_full)
        if random.random() < 0.6: text = f"{clause(label)}; {text}"
    text = text[0].upper() + text[1:] + random.choice([".", ".", "!", ""])
    if (text, label) not in rows and (text, 1-label) not in rows:
        rows.add((text, label))
rows = sorted(rows); random.shuffle(rows)
with open("reviews.tsv", "w") as f:
    f.write("sentence\tlabel\n")
    for t, l in rows: f.write(f"{t}\t{l}\n")
print(len(rows), "rows")
