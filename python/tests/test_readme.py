"""The README's Python snippet runs as written (issue #41): its first ```python block, executed."""
import io
import os
import re
import contextlib

# ATTNSEL_README: the README when the tests run outside the checkout (python/tests/wheel_check.sh).
README = os.environ.get("ATTNSEL_README") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                          "README.md")


def readme_python_snippet():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"```python\n(.*?)```", text, re.S)
    assert m, "README.md has no ```python block"
    return m.group(1)


def test_readme_snippet_runs_and_prints_what_it_says():
    code = readme_python_snippet()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md (python block)", "exec"), {})
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2, lines
    # The ordered selection of 5 features and the transformed shape the comment promises.
    assert "(569, 5)" in lines[0]
    assert len(re.findall(r"\d+", lines[0].split("]")[0])) == 5
    # The pipeline's training accuracy on 5 selected features.
    assert 0.9 < float(lines[1]) <= 1.0
