#!/usr/bin/env python3
"""Copy include/ to OUT with the bodies of the named functions emptied (a compile-time floor).

benchmarks/recipes/compile_time.sh compiles ten_lines.cpp against the copy: what the fit costs to compile
when the training floor's heaviest parts (the products on simd/gemm.hpp, BatchNorm's passes, the
optimizers' step) cost nothing. The result is compiled only,
never run. A function not found exactly once is an error, so a renamed one cannot slip through.

    stub_bodies.py INCLUDE_DIR OUT_DIR
"""
import shutil
import sys
from pathlib import Path

# (header under include/attnsel, the definition's text up to its opening brace)
STUBS = [
    ("nn/layers_impl.hpp", "void matmul(const ConstRowView<T>& A, Op op_a, const ConstRowView<T>& B, Op op_b, const RowView<T>& C)"),
    ("nn/layers_impl.hpp", "void BatchNorm<T>::forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train)"),
    ("nn/layers_impl.hpp", "void BatchNorm<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>&, const RowMatrix<T>& dY, RowMatrix<T>* dX)"),
    ("optim/adam.hpp", "void Adam<T>::step()"),
    ("optim/sgd.hpp", "void SGD<T>::step()"),
]


def empty_body(text: str, signature: str, where: str) -> str:
    if text.count(signature) != 1:
        sys.exit(f"stub_bodies.py: '{signature}' occurs {text.count(signature)} times in {where}, expected once")
    start = text.index(signature) + len(signature)
    brace = text.index("{", start)
    if text[start:brace].strip() not in ("", "const", "noexcept"):
        sys.exit(f"stub_bodies.py: unexpected text before the body of '{signature}' in {where}")
    depth = 0
    for i in range(brace, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[:brace] + "{}" + text[i + 1:]
    sys.exit(f"stub_bodies.py: unbalanced braces after '{signature}' in {where}")


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    shutil.copytree(src, out)
    for header, signature in STUBS:
        path = out / "attnsel" / header
        path.write_text(empty_body(path.read_text(), signature, str(path)))


if __name__ == "__main__":
    main()
