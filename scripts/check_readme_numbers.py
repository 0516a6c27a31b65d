#!/usr/bin/env python3
"""Checks that every number README.md and docs/ state next to a results file comes from that file
(issues #13 and #41).

  python3 scripts/check_readme_numbers.py [--readme FILE ...] [--results benchmarks/results]
    (default: README.md and every page of docs/, results.md among them)
  python3 scripts/check_readme_numbers.py --self-test [tests/readme_check]

Rules (exit 1 and one message per problem: README line, the number, the cited files):
  - A claim line is a README line (table row, bullet, paragraph line) that cites one or more
    results files: `benchmarks/results/NAME.ext`, backticked, plain or a link target; NAME may
    be a glob with * and ? (protocol_*.md). Every number on a claim line must occur in at least one of its cited files.
  - Numbers: 95.56, 0.9556, 8.1, 1,063 (thousands commas dropped), 2e-3; ranges 3.4-3.6 and
    17–26× are two numbers; ×, x, %, units and signs are not part of a number. A number matches
    a number of the file with the same value written the same way up to trailing zeros (8.1 =
    8.10), or the same value as a percentage or a fraction (95.56 = 0.9556, 0.9556 = 95.56).
  - Not numbers: the cited paths themselves, anything in backticks (code such as `--k 5`), link
    targets, and digits glued to a preceding letter (FP32, sse2, f64 are words).
  - In the sections "## Measured here" (README) and "## All results" (docs/results.md), every
    table row (but the header) must cite a results file.
  - Every cited file must exist and start (first 5 lines) with its provenance header: the word
    "commit" and "reproduce.sh" (what benchmarks/reproduce.sh writes).
Lines that cite no results file are not checked. Standard library only.

--self-test runs the fixtures of tests/readme_check/: pass/ must give no problem, fail/ exactly
the problems its expected.txt lists (one message fragment per line)."""
import argparse
import fnmatch
import glob
import os
import re
import sys
from decimal import Decimal, InvalidOperation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A cited results file: benchmarks/results/ and a name (globs allowed), not a trailing dot.
RESULT_PATH = re.compile(r"benchmarks/results/[A-Za-z0-9_*?\-]+(?:\.[A-Za-z0-9_*?\-]+)*")
BACKTICKS = re.compile(r"(`+)(.+?)\1")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
# README numbers: not glued to a preceding letter, digit, underscore or dot.
README_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)")
# File numbers: anywhere (lenient: more numbers in the file can only make more README numbers pass).
FILE_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
FILE_THOUSANDS = re.compile(r"(?<![0-9,])\d{1,3}(?:,\d{3})+(?:\.\d+)?")
MEASURED = re.compile(r"^##\s+(Measured here|All results)", re.IGNORECASE)
HEADING = re.compile(r"^#{1,2}\s")
TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
HEADER_LINES = 5


def canonical(text):
    """The number's value as a plain decimal string without trailing zeros, or None."""
    try:
        d = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if not d.is_finite() or abs(d.adjusted()) > 60:  # e.g. "9e803095" inside a commit hash
        return None
    s = format(d.normalize(), "f")
    return "0" if s in ("-0", "0") else s


def variants(text):
    """The forms a README number may take in a file: itself, as a fraction, as a percentage."""
    out = set()
    c = canonical(text)
    if c is None:
        return out
    d = Decimal(c)
    out.add(c)
    out.add(canonical(str(d / 100)))
    out.add(canonical(str(d * 100)))
    out.discard(None)
    return out


class ResultsFile(object):
    def __init__(self, path):
        self.path = path
        self.numbers = set()
        self.header_ok = False
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        head = "\n".join(text.splitlines()[:HEADER_LINES])
        self.header_ok = bool(re.search(r"commit", head, re.IGNORECASE)) and "reproduce.sh" in head
        for m in FILE_NUMBER.finditer(text):
            c = canonical(m.group(0))
            if c is not None:
                self.numbers.add(c)
        for m in FILE_THOUSANDS.finditer(text):
            c = canonical(m.group(0))
            if c is not None:
                self.numbers.add(c)


def resolve(cited, results_dir):
    """Files of results_dir a cited path names (a glob may name several); [] when none."""
    name = cited[len("benchmarks/results/"):]
    if any(ch in name for ch in "*?"):
        try:
            entries = sorted(os.listdir(results_dir))
        except OSError:
            return []
        return [os.path.join(results_dir, e) for e in entries
                if fnmatch.fnmatchcase(e, name) and os.path.isfile(os.path.join(results_dir, e))]
    path = os.path.join(results_dir, name)
    return [path] if os.path.isfile(path) else []


def readme_numbers(line):
    """The numbers a claim line states, with the cited paths, code and link targets removed."""
    text = BACKTICKS.sub(" ", line)
    text = RESULT_PATH.sub(" ", text)
    text = LINK_TARGET.sub("] ", text)
    return [m.group(1) for m in README_NUMBER.finditer(text)]


def check(readme, results_dir, shown=None):
    """Returns (problems, claim lines, numbers checked)."""
    shown = shown or readme
    problems = []
    with open(readme, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    cache = {}
    header_reported = set()
    in_measured = False
    claims = checked = 0
    for no, line in enumerate(lines, 1):
        if MEASURED.match(line):
            in_measured = True
        elif HEADING.match(line):
            in_measured = False
        cited = []
        for m in RESULT_PATH.finditer(line):
            if m.group(0) not in cited:
                cited.append(m.group(0))
        stripped = line.strip()
        if in_measured and stripped.startswith("|") and not TABLE_SEPARATOR.match(stripped):
            following = lines[no].strip() if no < len(lines) else ""
            is_header = bool(TABLE_SEPARATOR.match(following)) and following.startswith("|")
            if not is_header and not cited:
                problems.append("{}:{}: row of a results table cites no results file (benchmarks/results/...): {}"
                                .format(shown, no, stripped[:100]))
        if not cited:
            continue
        claims += 1
        files = []
        for c in cited:
            found = resolve(c, results_dir)
            if not found:
                problems.append("{}:{}: cited results file {} does not exist (in {})".format(shown, no, c, results_dir))
            for path in found:
                if path not in cache:
                    cache[path] = ResultsFile(path)
                rf = cache[path]
                files.append(rf)
                if not rf.header_ok and path not in header_reported:
                    header_reported.add(path)
                    problems.append("{}:{}: cited results file benchmarks/results/{} has no provenance header (its "
                                    "first {} lines must name the commit and reproduce.sh)"
                                    .format(shown, no, os.path.basename(path), HEADER_LINES))
        if not files:
            continue  # nothing to compare with; the missing files are reported
        names = ", ".join("benchmarks/results/" + os.path.basename(rf.path) for rf in files)
        for token in readme_numbers(line):
            checked += 1
            forms = variants(token)
            if not any(forms & rf.numbers for rf in files):
                problems.append("{}:{}: number {} is not in the cited file(s) {}".format(shown, no, token, names))
    return problems, claims, checked


def self_test(folder):
    failures = []
    ok_problems, _, ok_checked = check(os.path.join(folder, "pass", "README.md"), os.path.join(folder, "pass", "results"),
                                       "pass/README.md")
    if ok_problems:
        failures.append("pass/: expected no problems, got:\n  " + "\n  ".join(ok_problems))
    if ok_checked == 0:
        failures.append("pass/: no number was checked")
    bad_problems, _, _ = check(os.path.join(folder, "fail", "README.md"), os.path.join(folder, "fail", "results"),
                               "fail/README.md")
    with open(os.path.join(folder, "fail", "expected.txt"), encoding="utf-8") as f:
        expected = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    unmatched = list(bad_problems)
    for e in expected:
        hit = [p for p in unmatched if e in p]
        if not hit:
            failures.append("fail/: expected a problem containing '{}'".format(e))
        else:
            unmatched.remove(hit[0])
    for p in unmatched:
        failures.append("fail/: unexpected problem: " + p)
    if failures:
        print("check_readme_numbers --self-test: FAILED", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("check_readme_numbers --self-test: pass/ clean ({} numbers), fail/ gave the {} expected problems"
          .format(ok_checked, len(expected)))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--readme", action="append", metavar="FILE",
                    help="a page to check (repeatable; default: README.md and docs/*.md of the checkout)")
    ap.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"),
                    help="the folder benchmarks/results/ paths refer to (default: the checkout's)")
    ap.add_argument("--self-test", nargs="?", const=os.path.join(ROOT, "tests", "readme_check"), metavar="DIR",
                    help="check the fixtures (default tests/readme_check) instead")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test(args.self_test)
    pages = args.readme or [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    problems, claims, checked = [], 0, 0
    for page in pages:
        if not os.path.isfile(page):
            print("check_readme_numbers: no page at {}".format(page), file=sys.stderr)
            return 2
        shown = os.path.relpath(page) if not os.path.relpath(page).startswith("..") else page
        p, c, n = check(page, args.results, shown)
        problems += p
        claims += c
        checked += n
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print("check_readme_numbers: {} problem(s) in {} claim line(s) ({} numbers checked against {})"
              .format(len(problems), claims, checked, args.results), file=sys.stderr)
        return 1
    print("check_readme_numbers: {} claim line(s), {} numbers, all in their cited results files".format(claims, checked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
