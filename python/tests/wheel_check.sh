#!/usr/bin/env bash
# The Python package as a user gets it (issue #36): a wheel built by `pip wheel .` from the checkout
# (reusing the CMake build folder BUILD, where _attnsel is already built), installed into a clean
# virtual environment that sees the system's numpy and scikit-learn, passes the Python tests run
# from outside the checkout; importlib.metadata knows the version; `pip uninstall` removes it.
#   bash python/tests/wheel_check.sh PYTHON BUILD
set -euo pipefail
python="$1" build="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# What the package is built from is copied: pip builds in the source tree, and the test must not
# write into the checkout.
mkdir "$work/src"
(cd "$root" && cp -r --parents CMakeLists.txt cmake include src python setup.py pyproject.toml README.md LICENSE "$work/src")
ATTNSEL_BUILD_DIR="$build" "$python" -m pip wheel --quiet --no-build-isolation --no-deps --no-index -w "$work/wheel" "$work/src"
wheel="$(ls "$work"/wheel/attnsel-*.whl)"
"$python" -m venv --system-site-packages "$work/venv"
venv="$work/venv/bin/python"
"$venv" -m pip install --quiet --no-deps --no-index --force-reinstall "$wheel"  # even when the system has attnsel
mkdir "$work/run"
cp "$root"/python/tests/test_*.py "$work/run/"
cd "$work/run"
want="$(sed -n 's/^#define ATTNSEL_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' "$root/include/attnsel/version.hpp" | paste -sd.)"
got="$("$venv" -c 'import importlib.metadata as m; print(m.version("attnsel"))')"
[ "$got" = "$want" ] || { echo "wheel_check: importlib.metadata.version('attnsel') is '$got', version.hpp says '$want'" >&2; exit 1; }
where="$("$venv" -c 'import attnsel; print(attnsel.__file__)')"
case "$where" in
  "$work/venv/"*) ;;
  *) echo "wheel_check: attnsel imported from $where, not from the virtual environment" >&2; exit 1 ;;
esac
ATTNSEL_README="$root/README.md" "$venv" -m pytest -q -p no:cacheprovider .
"$venv" -m pip uninstall --quiet --yes attnsel
# Gone from the environment (an attnsel the system has may still import through
# --system-site-packages, but not from the environment's own site-packages).
left="$(find "$work/venv" -path '*site-packages/attnsel*' | head -n 3)"
[ -z "$left" ] || { echo "wheel_check: pip uninstall left $left" >&2; exit 1; }
after="$("$venv" -c 'import attnsel; print(attnsel.__file__)' 2>/dev/null || true)"
case "$after" in
  "$work/venv/"*) echo "wheel_check: attnsel still imports from the environment after pip uninstall" >&2; exit 1 ;;
esac
echo "wheel_check: attnsel $got: wheel built, installed in a virtual environment, tests passed outside the checkout, uninstalled"
