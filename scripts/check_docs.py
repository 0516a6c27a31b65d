#!/usr/bin/env python3
"""Checks the documentation against the programs and the tree (issue #41).

  python3 scripts/check_docs.py --program NAME=PATH [--program NAME=PATH ...]
  python3 scripts/check_docs.py --self-test [tests/docs_check]

Pages: README.md, docs/*.md, benchmarks/README.md, examples/data/README.md, fuzz/README.md.
Exit 1 with one message per problem (page:line: what), 0 when all hold:

  - Paths: every `examples/...`, `benchmarks/...`, `scripts/...` (also `docs/`, `include/`,
    `tests/`, `python/`, `src/`, `fuzz/`) path a page names exists, relative to the checkout
    (globs may match; `build*/...` folders are build output and not checked; a path part in
    capitals, such as NAME, is a placeholder). Relative link targets exist from the page's folder.
  - Flags: every `--flag` shown for a program is one the program accepts. A command is a line of
    a shell code block or an inline code span; its program is the one it invokes:
      build*/.../NAME (an example or protocol program given with --program: its --help lists the
        flags), `bash scripts/attnsel.sh example ...` (feature_selection's flags),
      `bash scripts/attnsel.sh SUB` (SUB one of the script's commands),
      `bash benchmarks/reproduce.sh NAME` (NAME one of its recipes),
      `bash|python3 PATH ...` for another script of the checkout (the flag appears in that script).
    A code span of flags alone belongs to the program the same paragraph or list item last
    invoked or named; with none there, some program must accept it. Google Benchmark binaries
    take --benchmark_* flags, libFuzzer targets (build*/fuzz/fuzz_*) none of the --double kind.
  - The README is at most 200 lines and its "## Measured here" table has at most 10 rows.
  - docs/README.md links every page of docs/.
  - benchmarks/README.md lists every results file of benchmarks/results/ (*.md) in its table, and
    every results file and every reproduce.sh recipe have each other.
Standard library only."""
import argparse
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md", "docs/*.md", "benchmarks/README.md", "examples/data/README.md", "fuzz/README.md"]
ROOTS = "examples|benchmarks|scripts|docs|include|tests|python|src|fuzz"
# A checkout path: one of the roots at a word start (not after / . ~ - or a letter), then path chars.
PATH = re.compile(r"(?<![\w./~\-$])((?:" + ROOTS + r")/[\w./*?\-]*)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FLAG = re.compile(r"(?<![\w-])(--[A-Za-z][\w-]*)")
SPAN = re.compile(r"(`+)(.+?)\1")
FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
SHELL_LANGS = {"", "sh", "bash", "shell", "console", "text"}
MAX_README_LINES = 200
MAX_HEADLINE_ROWS = 10


class Programs(object):
    """The flags each program accepts: C++ programs by their --help, scripts by their text."""

    def __init__(self, root, binaries):
        self.root = root
        self.binaries = binaries  # name -> path
        self.flags = {}
        self.problems = []

    def help_flags(self, name):
        if name not in self.flags:
            path = self.binaries[name]
            try:
                r = subprocess.run([path, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   universal_newlines=True, timeout=60)
                out = r.stdout
                if r.returncode != 0:
                    self.problems.append("{} --help exited with status {}".format(path, r.returncode))
            except (OSError, subprocess.TimeoutExpired) as e:
                self.problems.append("cannot run {} --help: {}".format(path, e))
                out = ""
            self.flags[name] = set(FLAG.findall(out)) | {"--help"}
        return self.flags[name]

    def script_flags(self, rel):
        key = "script:" + rel
        if key not in self.flags:
            try:
                with open(os.path.join(self.root, rel), encoding="utf-8", errors="replace") as f:
                    self.flags[key] = set(FLAG.findall(f.read())) | {"--help"}
            except OSError:
                self.flags[key] = None
        return self.flags[key]

    def accepts(self, program, flag):
        """program: ('bin', name) | ('script', relpath) | ('gbench', name)."""
        kind, name = program
        if kind == "gbench":
            return flag.startswith("--benchmark_") or flag == "--help"
        if kind == "fuzzer":
            return False
        if kind == "bin":
            return flag in self.help_flags(name)
        fl = self.script_flags(name)
        return fl is not None and flag in fl

    def accepted_by_any(self, flag):
        if any(flag in self.help_flags(n) for n in self.binaries):
            return True
        scripts = glob.glob(os.path.join(self.root, "scripts", "*")) + \
            glob.glob(os.path.join(self.root, "benchmarks", "**", "*.sh"), recursive=True) + \
            glob.glob(os.path.join(self.root, "benchmarks", "**", "*.py"), recursive=True)
        for s in scripts:
            fl = self.script_flags(os.path.relpath(s, self.root))
            if fl and flag in fl:
                return True
        return False


def subcommands(root):
    """The commands of scripts/attnsel.sh (its case labels) and the recipes of reproduce.sh."""
    subs, recipes = set(), []
    try:
        with open(os.path.join(root, "scripts", "attnsel.sh"), encoding="utf-8") as f:
            subs = set(re.findall(r"^  ([a-z]+)\)", f.read(), re.M))
        with open(os.path.join(root, "benchmarks", "reproduce.sh"), encoding="utf-8") as f:
            body = f.read().split("<<'LIST'", 1)[1].split("\nLIST", 1)[0]
        recipes = [l.split("|", 1)[0] for l in body.strip().splitlines() if "|" in l]
    except (OSError, IndexError):
        pass  # a fixture folder has neither
    return subs, recipes


def exists(root, rel):
    rel = rel.rstrip(".,:;")
    if not rel or rel.endswith("/") and os.path.isdir(os.path.join(root, rel)):
        return True
    parts = [p for p in rel.split("/") if p]
    if any(re.fullmatch(r"[A-Z][A-Z_]*(\.\w+)?", p) for p in parts):
        return True  # a placeholder (NAME, FILE.md)
    full = os.path.join(root, rel)
    if any(c in rel for c in "*?"):
        return bool(glob.glob(full))
    return os.path.exists(full) or os.path.exists(full + ".cpp")


class Block(object):
    """A paragraph or list item: lines, with the program last named in it."""

    def __init__(self):
        self.programs = []


EXTERNAL = {"cmake", "ctest", "git", "apt-get", "apt", "pip", "pip3", "make", "g++", "c++", "clang++", "gcc",
            "valgrind", "perf", "sed", "grep", "env", "sudo", "docker", "mpirun", "npm", "pytest", "cp", "ls"}


def invoked_program(tokens, ctx, folder):
    """(program, index of the first argument) for a command's tokens, or (None, 0)."""
    binaries, subs, recipes = ctx
    for i, t in enumerate(tokens):
        t = t.strip("\"'")
        if re.match(r"^[A-Z_][A-Z0-9_]*=", t):
            continue  # an environment assignment before the command
        if t in EXTERNAL or os.path.basename(t) in EXTERNAL and "/bin/" in t or \
                (t in ("python3", "/usr/bin/python3") and i + 1 < len(tokens) and tokens[i + 1] == "-m"):
            return ("external", t), len(tokens)
        if t.endswith((".sh", ".py")) and i == 0:
            for base in (ROOT, folder):
                full = os.path.normpath(os.path.join(base, t))
                if os.path.isfile(full):
                    return ("script", os.path.relpath(full, ROOT)), i + 1
        if t in ("bash", "sh", "python3", "/usr/bin/python3") and i + 1 < len(tokens):
            script = tokens[i + 1].strip("\"'")
            rel = os.path.normpath(script) if not os.path.isabs(script) else None
            if rel == os.path.join("scripts", "attnsel.sh"):
                if i + 2 < len(tokens) and tokens[i + 2] == "example":
                    if "feature_selection" not in binaries:
                        return ("unknown", "feature_selection"), i + 3
                    return ("bin", "feature_selection"), i + 3
                return ("attnsel.sh", None), i + 2
            if rel == os.path.join("benchmarks", "reproduce.sh"):
                return ("reproduce", None), i + 2
            if rel and (rel.startswith(("scripts", "benchmarks", "examples", "tests", "fuzz"))):
                return ("script", rel), i + 2
            if rel and os.path.isfile(os.path.join(folder, rel)):
                return ("script", os.path.relpath(os.path.join(folder, rel), ROOT)), i + 2
            return None, 0
        m = re.match(r"^(?:\S*/)?([A-Za-z_][\w]*)$", t)
        if m and ("/" in t and t.split("/")[0].startswith("build")):
            name = m.group(1)
            if name in binaries:
                return ("bin", name), i + 1
            if name in EXTERNAL:
                return ("external", name), len(tokens)
            if name.startswith("attnsel_bench_"):
                return ("gbench", name), i + 1
            if name.startswith("fuzz_"):
                return ("fuzzer", name), i + 1  # libFuzzer's options are -single_dash
            return ("unknown", t), i + 1
    return None, 0


def check_command(text, page, no, block, ctx, programs, problems, fragment):
    binaries, subs, recipes = ctx
    tokens = text.split()
    program, first = invoked_program(tokens, ctx, os.path.dirname(os.path.join(ROOT, page)))
    if program is None and tokens:
        # A bare program name in a span (`train_lm`, `generate --model`) or its source
        # (`examples/train_lm.cpp`, `benchmarks/protocols/pruning_protocol.cpp`) names it for the block.
        m = re.match(r"^(?:(?:examples|benchmarks/protocols)/)?(\w+?)(?:\.cpp)?$", tokens[0])
        if m and m.group(1) in binaries:
            program, first = ("bin", m.group(1)), 1
    if program is not None and program not in block.programs:
        block.programs.append(program)
    kind = program[0] if program else None
    if kind == "external":
        return
    if kind == "unknown":
        problems.append("{}:{}: unknown program {} (not an example or protocol program)".format(page, no, program[1]))
        return
    if kind == "attnsel.sh":
        if first < len(tokens) and not tokens[first].startswith("-") and tokens[first] not in subs:
            problems.append("{}:{}: scripts/attnsel.sh has no command '{}' (it has: {})"
                            .format(page, no, tokens[first], ", ".join(sorted(subs))))
        return
    if kind == "reproduce":
        if first < len(tokens) and tokens[first] not in ("NAME", "--list") and tokens[first] not in recipes:
            problems.append("{}:{}: benchmarks/reproduce.sh has no recipe '{}'".format(page, no, tokens[first]))
        return
    flags = [f for f in FLAG.findall(" ".join(tokens[first:] if program else tokens))]
    if not flags:
        return
    checkable = ("bin", "script", "gbench", "fuzzer")
    if program is not None:
        targets = [program] if program[0] in checkable else []
    else:  # flags alone: the programs this paragraph or list item names
        targets = [p for p in block.programs if p[0] in checkable] if fragment else []
    for f in flags:
        if targets:
            if not any(programs.accepts(t, f) for t in targets):
                problems.append("{}:{}: {} does not accept {}".format(page, no, " or ".join(t[1] for t in targets), f))
        elif not programs.accepted_by_any(f):
            problems.append("{}:{}: no program or script accepts {}".format(page, no, f))


def split_commands(line):
    """A shell line's commands: split at ; && || | and cut at a comment."""
    line = re.sub(r"(^|\s)#.*$", "", line)
    return [c for c in re.split(r"\|\||&&|;|\|", line) if c.strip()]


def check_page(root, rel, ctx, programs, problems):
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    folder = os.path.dirname(path)
    fence, lang = None, ""
    block = Block()
    pending = ""
    for no, line in enumerate(lines, 1):
        m = FENCE.match(line)
        if m:
            if fence is None:
                fence, lang = m.group(1), m.group(2).lower()
            elif m.group(1).startswith(fence[0]) and len(m.group(1)) >= len(fence):
                fence = None
            continue
        # Paths, everywhere (code included).
        for p in PATH.findall(line):
            if not exists(root, p):
                problems.append("{}:{}: path {} does not exist".format(rel, no, p.rstrip(".,:;")))
        if fence is not None:
            if lang in SHELL_LANGS:
                text = pending + line
                if text.rstrip().endswith("\\"):
                    pending = text.rstrip()[:-1] + " "
                    continue
                pending = ""
                for cmd in split_commands(text):
                    check_command(cmd, rel, no, block, ctx, programs, problems, fragment=False)
            continue
        if not line.strip() or re.match(r"^\s*([-*+|]|\d+\.)\s", line) or line.startswith(("#", "|")):
            block = Block()  # a new paragraph or list item
        for target in LINK.findall(line):
            t = target.split("#", 1)[0]
            if not t or re.match(r"^[a-z]+:", t):
                continue
            if not os.path.exists(os.path.normpath(os.path.join(folder, t))):
                problems.append("{}:{}: link target {} does not exist".format(rel, no, target))
        for _, span in SPAN.findall(line):
            for cmd in split_commands(span) if span.lstrip().startswith(("bash ", "build")) else [span]:
                check_command(cmd, rel, no, block, ctx, programs, problems, fragment=True)


def check_structure(root, recipes, problems):
    readme = os.path.join(root, "README.md")
    with open(readme, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if len(lines) > MAX_README_LINES:
        problems.append("README.md: {} lines, at most {}".format(len(lines), MAX_README_LINES))
    rows, inside = 0, False
    for line in lines:
        if re.match(r"^##\s+Measured here", line):
            inside = True
        elif re.match(r"^#{1,2}\s", line):
            inside = False
        elif inside and line.startswith("|") and not re.match(r"^\|\s*:?-{3,}", line):
            rows += 1
    rows = max(0, rows - 1)  # the header row
    if rows > MAX_HEADLINE_ROWS:
        problems.append("README.md: the '## Measured here' table has {} rows, at most {}".format(rows, MAX_HEADLINE_ROWS))
    index = os.path.join(root, "docs", "README.md")
    with open(index, encoding="utf-8") as f:
        linked = set(os.path.normpath(t.split("#")[0]) for t in LINK.findall(f.read()))
    for page in sorted(glob.glob(os.path.join(root, "docs", "*.md"))):
        name = os.path.basename(page)
        if name != "README.md" and name not in linked:
            problems.append("docs/README.md: does not link docs/{}".format(name))
    with open(os.path.join(root, "benchmarks", "README.md"), encoding="utf-8") as f:
        listed = set(re.findall(r"^\|\s*`([\w-]+)\.md`\s*\|", f.read(), re.M))
    files = set(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(root, "benchmarks", "results", "*.md")))
    for n in sorted(files - listed):
        problems.append("benchmarks/README.md: results file {}.md is not in its table".format(n))
    for n in sorted(listed - files):
        problems.append("benchmarks/README.md: lists {}.md, which benchmarks/results/ does not have".format(n))
    for n in sorted(files - set(recipes)):
        problems.append("benchmarks/results/{}.md: no recipe of benchmarks/reproduce.sh writes it".format(n))
    for n in sorted(set(recipes) - files):
        problems.append("benchmarks/reproduce.sh: recipe {} has no results file".format(n))


def run(root, binaries, pages=None):
    subs, recipes = subcommands(root)
    programs = Programs(root, binaries)
    problems = []
    ctx = (binaries, subs, recipes)
    rels = []
    for pattern in pages or PAGES:
        rels += sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, pattern)))
    for rel in rels:
        check_page(root, rel, ctx, programs, problems)
    if pages is None:
        check_structure(root, recipes, problems)
    return programs.problems + problems, rels


def self_test(folder):
    """tests/docs_check: pass/ gives no problem, fail/ exactly the fragments of its expected.txt."""
    binaries = {"tool": os.path.join(folder, "tool.sh")}
    failures = []
    ok, _ = run(os.path.join(folder, "pass"), binaries, ["*.md"])
    if ok:
        failures.append("pass/: expected no problems, got:\n  " + "\n  ".join(ok))
    bad, _ = run(os.path.join(folder, "fail"), binaries, ["*.md"])
    with open(os.path.join(folder, "fail", "expected.txt"), encoding="utf-8") as f:
        expected = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    left = list(bad)
    for e in expected:
        hit = [p for p in left if e in p]
        if hit:
            left.remove(hit[0])
        else:
            failures.append("fail/: expected a problem containing '{}'".format(e))
    failures += ["fail/: unexpected problem: " + p for p in left]
    if failures:
        print("check_docs --self-test: FAILED", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("check_docs --self-test: pass/ clean, fail/ gave the {} expected problems".format(len(expected)))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--program", action="append", default=[], metavar="NAME=PATH",
                    help="a built example or protocol program (repeatable)")
    ap.add_argument("--self-test", nargs="?", const=os.path.join(ROOT, "tests", "docs_check"), metavar="DIR")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test(args.self_test)
    binaries = {}
    for p in args.program:
        name, _, path = p.partition("=")
        if not name or not path or not os.access(path, os.X_OK):
            print("check_docs: --program takes NAME=PATH of an executable, got '{}'".format(p), file=sys.stderr)
            return 2
        binaries[name] = path
    if not binaries:
        print("check_docs: give the built programs with --program NAME=PATH", file=sys.stderr)
        return 2
    problems, rels = run(ROOT, binaries)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print("check_docs: {} problem(s) in {} page(s)".format(len(problems), len(rels)), file=sys.stderr)
        return 1
    print("check_docs: {} pages; every path exists and every flag shown is accepted by its program ({} programs)"
          .format(len(rels), len(binaries)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
