#!/usr/bin/env bash
# Build minijax's wheel, install it (not editable) into a fresh venv outside the
# repository, and check that it works there: import, `python -m minijax info`,
# the console script, and a short training run of a shipped example.
# Usage: tools/wheel_smoke.sh [PYTHON]   (default: .venv/bin/python, to build with)
set -euo pipefail
cd "$(dirname "$0")/.."
python="${1:-.venv/bin/python}"
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

echo "+ build the wheel"
"${python}" -m pip wheel -q --no-deps -w "${tmp}/dist" .
wheel="$(ls "${tmp}"/dist/minijax-*.whl)"
# (the listing goes to a file first: under pipefail, `grep -q` quitting early would
# kill unzip with SIGPIPE and fail the pipeline even when the file is there)
unzip -l "${wheel}" > "${tmp}/listing"
grep -q "minijax/examples/demo.py" "${tmp}/listing" || { echo "the wheel lacks the examples"; exit 1; }

echo "+ install $(basename "${wheel}") into a fresh venv"
python3 -m venv "${tmp}/venv"
"${tmp}/venv/bin/pip" install -q "${wheel}"

cd "${tmp}"   # away from the checkout: only the installed package can be imported
py="${tmp}/venv/bin/python"
"${py}" - <<'PY'
import minijax
assert "site-packages" in minijax.__file__, minijax.__file__
assert minijax.nn.Dense(3).features == 3 and minijax.optim.adam(1e-3) is not None
print("import minijax:", minijax.__file__)
PY
"${py}" -m minijax info
"${tmp}/venv/bin/minijax" --version
"${py}" -m minijax run linear_regression --quick --no-plot --out "${tmp}/out" | tee "${tmp}/run.log"
grep -q "converged: True" "${tmp}/run.log"
echo "wheel smoke test: passed"
