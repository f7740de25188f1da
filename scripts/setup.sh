#!/usr/bin/env bash
# Creates .venv with a Python >= 3.12 and installs the package with its test extras.
# Sourced by scripts/main.sh and scripts/test.sh; safe to run again (it reuses .venv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$(command -v "$candidate")"; then
      command -v "$candidate"; return 0
    fi
  done
  local pyenv_root="${PYENV_ROOT:-}"
  if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then pyenv_root="$(pyenv root)"; fi
  [ -n "$pyenv_root" ] || pyenv_root="$HOME/.pyenv"
  for candidate in $(ls -d "$pyenv_root"/versions/3.* 2>/dev/null | sort -rV); do
    if [ -x "$candidate/bin/python" ] && python_ok "$candidate/bin/python"; then
      echo "$candidate/bin/python"; return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! python_ok .venv/bin/python; then
  if ! python="$(find_python)"; then
    echo "setup: no Python >= 3.12 found on PATH or under \$(pyenv root)/versions; install Python 3.12 or newer (for example 'pyenv install 3.12') and run again." >&2
    exit 1
  fi
  echo "setup: creating .venv with $python ($("$python" --version 2>&1))"
  rm -rf .venv
  "$python" -m venv .venv
fi

stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[${ABM_EXTRAS:-test}]"
  touch "$stamp"
fi
