#!/usr/bin/env bash
# Sets everything up, then runs the project's main job: experiment e01 (the 2025 episode over
# 20 seeds), written to results/e01_history_2025/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
.venv/bin/python experiments/e01_history_2025.py "$@"
