#!/usr/bin/env bash
# One entry point for a fresh machine: finds Python 3.7, builds .venv in the
# repository from the pinned requirements (once; later runs reuse it), then
#   scripts/run.sh train [ARGS]   runs the training job (scripts/train.py)
#   scripts/run.sh test  [ARGS]   runs the whole test suite (pytest)
#   scripts/run.sh python [ARGS]  runs the environment's python
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.tfbnn-installed"

die() { echo "tfbnn: $*" >&2; exit 2; }

is_py37() {  # true when "$1" runs and is CPython 3.7
  [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 7) else 1)' >/dev/null 2>&1
}

find_python37() {
  local c root
  if [ -n "${TFBNN_PYTHON:-}" ]; then
    is_py37 "$TFBNN_PYTHON" || die "TFBNN_PYTHON=$TFBNN_PYTHON is not a working Python 3.7"
    echo "$TFBNN_PYTHON"; return
  fi
  # A pyenv shim named python3.7 is on PATH but fails unless 3.7 is selected,
  # so every candidate is run, not just found.
  if c="$(command -v python3.7 2>/dev/null)" && is_py37 "$c"; then echo "$c"; return; fi
  if command -v pyenv >/dev/null 2>&1 && root="$(pyenv root 2>/dev/null)"; then :; else root="${PYENV_ROOT:-$HOME/.pyenv}"; fi
  for c in $(ls -d "$root"/versions/3.7*/bin/python3.7 2>/dev/null | sort -rV) \
           /usr/local/bin/python3.7 /usr/bin/python3.7; do
    if is_py37 "$c"; then echo "$c"; return; fi
  done
  die "no working Python 3.7 found (TensorFlow 1.15 needs 3.7): install it, e.g. 'pyenv install 3.7.17', or set TFBNN_PYTHON=/path/to/python3.7"
}

requirements_hash() {
  cat "$ROOT/requirements.txt" "$ROOT/requirements-test.txt" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1
}

ensure_env() {
  local want; want="$(requirements_hash)"
  if [ -x "$VENV/bin/python" ] && is_py37 "$VENV/bin/python" && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
    return
  fi
  local py; py="$(find_python37)"
  echo "tfbnn: setting up $VENV with $("$py" --version 2>&1) ($py)" >&2
  rm -rf "$VENV"
  "$py" -m venv "$VENV" || die "could not create a virtual environment with $py"
  local log="$VENV/install.log"
  if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check -r "$ROOT/requirements.txt" -r "$ROOT/requirements-test.txt" &&
         "$VENV/bin/python" -m pip install --disable-pip-version-check --no-deps -e "$ROOT"; } >"$log" 2>&1; then
    tail -20 "$log" >&2
    die "installing the pinned requirements failed (full log: $log)"
  fi
  echo "$want" > "$STAMP"
  echo "tfbnn: environment ready" >&2
}

# C++ INFO/WARNING lines from TensorFlow (CPU feature notices and the like);
# errors still print. Python-side deprecation noise is handled by tfbnn.
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-1}"
export MPLBACKEND="${MPLBACKEND:-Agg}"

cmd="${1:-}"; [ $# -gt 0 ] && shift
case "$cmd" in
  train)  ensure_env; exec "$VENV/bin/python" "$ROOT/scripts/train.py" "$@" ;;
  test)   ensure_env; cd "$ROOT"; exec "$VENV/bin/python" -m pytest "$@" ;;
  python) ensure_env; exec "$VENV/bin/python" "$@" ;;
  setup)  ensure_env ;;
  *) die "usage: scripts/run.sh train|test|python|setup [ARGS...]" ;;
esac
