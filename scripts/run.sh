#!/usr/bin/env bash
# One entry point for a fresh machine: picks a stack, finds its Python, builds
# its virtual environment in the repository from the pinned requirements
# (once; later runs reuse it), then
#   scripts/run.sh train [ARGS]   runs the training job (scripts/train.py)
#   scripts/run.sh test  [ARGS]   runs the whole test suite (pytest)
#   scripts/run.sh python [ARGS]  runs the environment's python
#
# Stacks: tf1 = Python 3.7 + TensorFlow 1.15.5 (.venv, requirements.txt);
# tf2 = Python 3.10-3.13 + TensorFlow 2.x through tf.compat.v1 (.venv-tf2,
# requirements-tf2.txt). TFBNN_STACK=tf1|tf2 chooses; by default tf1 where a
# working Python 3.7 exists, else tf2 with the newest Python found.
# TFBNN_PYTHON=/path/to/python picks the interpreter (and so the stack).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() { echo "tfbnn: $*" >&2; exit 2; }

py_version() {  # "3.7" for a working CPython 3.7 at "$1", else nothing
  [ -n "$1" ] && "$1" -c 'import sys, ssl, venv; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

is_tf1_python() { [ "$(py_version "$1")" = 3.7 ]; }

is_tf2_python() {  # 3.10 to 3.13: what the pinned TensorFlow 2.x release has wheels for
  case "$(py_version "$1")" in 3.10|3.11|3.12|3.13) return 0 ;; *) return 1 ;; esac
}

pyenv_root() {
  if command -v pyenv >/dev/null 2>&1 && pyenv root 2>/dev/null; then return; fi
  echo "${PYENV_ROOT:-$HOME/.pyenv}"
}

find_python37() {  # prints a working Python 3.7, or nothing
  local c
  # A pyenv shim named python3.7 is on PATH but fails unless 3.7 is selected,
  # so every candidate is run, not just found.
  for c in "$(command -v python3.7 2>/dev/null)" \
           $(ls -d "$(pyenv_root)"/versions/3.7*/bin/python3.7 2>/dev/null | sort -rV) \
           /usr/local/bin/python3.7 /usr/bin/python3.7; do
    if is_tf1_python "$c"; then echo "$c"; return; fi
  done
}

find_python_tf2() {  # prints the newest working Python 3.10-3.13, or nothing
  local c minor root; root="$(pyenv_root)"
  for minor in 13 12 11 10; do
    for c in "$(command -v python3.$minor 2>/dev/null)" \
             $(ls -d "$root"/versions/3.$minor*/bin/python3.$minor 2>/dev/null | sort -rV) \
             /usr/local/bin/python3.$minor /usr/bin/python3.$minor; do
      if is_tf2_python "$c"; then echo "$c"; return; fi
    done
  done
  c="$(command -v python3 2>/dev/null)" && is_tf2_python "$c" && echo "$c"
}

# The stack: TFBNN_STACK=tf1|tf2, else the one TFBNN_PYTHON's version says,
# else tf1 where a working Python 3.7 exists and tf2 where none does.
STACK="${TFBNN_STACK:-}"
PY=""
case "$STACK" in
  tf1|tf2|""|auto) ;;
  *) die "TFBNN_STACK must be tf1 (Python 3.7, TensorFlow 1.15) or tf2 (Python >= 3.10, TensorFlow 2.x), got '$STACK'" ;;
esac
[ "$STACK" != auto ] || STACK=""
if [ -n "${TFBNN_PYTHON:-}" ]; then
  if is_tf1_python "$TFBNN_PYTHON"; then want=tf1
  elif is_tf2_python "$TFBNN_PYTHON"; then want=tf2
  else die "TFBNN_PYTHON=$TFBNN_PYTHON is not a working Python 3.7 (tf1) or 3.10-3.13 (tf2)"; fi
  [ -z "$STACK" ] || [ "$STACK" = "$want" ] ||
    die "TFBNN_PYTHON=$TFBNN_PYTHON is Python $(py_version "$TFBNN_PYTHON"), which cannot run TFBNN_STACK=$STACK"
  STACK="$want"; PY="$TFBNN_PYTHON"
fi
case "$STACK" in
  tf1|tf2) ;;
  "") if is_tf1_python "$ROOT/.venv/bin/python" || [ -n "$(find_python37)" ]; then STACK=tf1; else STACK=tf2; fi ;;
esac
if [ "$STACK" = tf1 ]; then
  VENV="$ROOT/.venv"
  REQUIREMENTS=("$ROOT/requirements.txt" "$ROOT/requirements-test.txt")
else
  VENV="$ROOT/.venv-tf2"
  REQUIREMENTS=("$ROOT/requirements-tf2.txt" "$ROOT/requirements-test-tf2.txt")
fi
STAMP="$VENV/.tfbnn-installed"

venv_ok() {  # the venv runs, is of this stack, and was built from today's requirements
  local py="$VENV/bin/python"
  { [ "$STACK" = tf1 ] && is_tf1_python "$py"; } || { [ "$STACK" = tf2 ] && is_tf2_python "$py"; } || return 1
  [ "$(cat "$STAMP" 2>/dev/null)" = "$(requirements_hash)" ]
}

requirements_hash() {
  cat "${REQUIREMENTS[@]}" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1
}

ensure_env() {
  if ! venv_ok; then
    local py="$PY"
    if [ -z "$py" ]; then
      if [ "$STACK" = tf1 ]; then
        py="$(find_python37)"
        [ -n "$py" ] || die "no working Python 3.7 found (TensorFlow 1.15 needs 3.7): install it, e.g. 'pyenv install 3.7.17', set TFBNN_PYTHON=/path/to/python3.7, or use TFBNN_STACK=tf2"
      else
        py="$(find_python_tf2)"
        [ -n "$py" ] || die "no working Python 3.10-3.13 found for the TensorFlow 2.x stack: install one, or set TFBNN_PYTHON=/path/to/python3.11"
      fi
    fi
    echo "tfbnn: setting up $VENV (stack $STACK) with $("$py" --version 2>&1) ($py)" >&2
    rm -rf "$VENV"
    "$py" -m venv "$VENV" || die "could not create a virtual environment with $py"
    local log="$VENV/install.log" args=() r
    for r in "${REQUIREMENTS[@]}"; do args+=(-r "$r"); done
    if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check "${args[@]}" &&
           "$VENV/bin/python" -m pip install --disable-pip-version-check --no-deps -e "$ROOT"; } >"$log" 2>&1; then
      tail -20 "$log" >&2
      die "installing the pinned requirements failed (full log: $log)"
    fi
    requirements_hash > "$STAMP"
    echo "tfbnn: environment ready" >&2
  fi
  echo "tfbnn: stack $STACK, $("$VENV/bin/python" --version 2>&1) ($VENV)" >&2
}

# C++ INFO/WARNING lines from TensorFlow (CPU feature notices and the like);
# errors still print. Python-side deprecation noise is handled by tfbnn.
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-1}"
export MPLBACKEND="${MPLBACKEND:-Agg}"

cmd="${1:-}"; [ $# -gt 0 ] && shift
case "$cmd" in
  train)  ensure_env; exec "$VENV/bin/python" "$ROOT/scripts/train.py" "$@" ;;
  # Here every export runtime is installed: a missing one fails its tests instead of skipping.
  test)   ensure_env; cd "$ROOT"
          export TFBNN_REQUIRE_EXPORT_RUNTIMES="${TFBNN_REQUIRE_EXPORT_RUNTIMES:-1}"
          exec "$VENV/bin/python" -m pytest "$@" ;;
  python) ensure_env; exec "$VENV/bin/python" "$@" ;;
  setup)  ensure_env ;;
  *) die "usage: scripts/run.sh train|test|python|setup [ARGS...]" ;;
esac
