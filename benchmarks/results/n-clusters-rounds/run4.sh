#!/bin/sh
# Told n_clusters, final code of session 33 (counts restored at rounds; tree without groups).
set -x
cd "$(dirname "$0")/../../.."
R=benchmarks/results/n-clusters-rounds
.venv/bin/python -u benchmarks/quality.py --seeds 0 --datasets img-portraits img-digits16 fashion mnist --methods 'mixae-graph K' --out $R/k-seed0
