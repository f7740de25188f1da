#!/usr/bin/env bash
# Sets everything up, then runs the lint and the whole test suite in a random order
# (pytest-randomly). The order's seed is printed first: `bash scripts/test.sh
# --randomly-seed=N` runs the same order again, `-p no:randomly` the file order.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
.venv/bin/ruff check .
order=()
case " $* " in
  *" no:randomly "*|*"-p no:randomly"*|*"--randomly-seed"*) ;;
  *)
    seed="$(.venv/bin/python -c 'import secrets; print(secrets.randbelow(2**32))')"
    echo "test order: --randomly-seed=$seed (bash scripts/test.sh --randomly-seed=$seed repeats it)"
    order=(--randomly-seed="$seed")
    ;;
esac
.venv/bin/python -m pytest "${order[@]}" "$@"
