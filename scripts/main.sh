#!/usr/bin/env bash
# Sets everything up, then runs the project's main job.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
.venv/bin/abm run baseline-2024 --out results/baseline-2024
