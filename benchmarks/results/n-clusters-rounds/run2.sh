#!/bin/sh
# Told n_clusters with the fine parts as the tree's groups (session 33). One fit at a time.
set -x
cd "$(dirname "$0")/../../.."
R=benchmarks/results/n-clusters-rounds
P=.venv/bin/python
$P -u benchmarks/quality.py --seeds 0 1 2 --datasets img-turntable --methods 'mixae-graph K' --out $R/turntable-k-groups
$P -u benchmarks/quality.py --seeds 0 --datasets digits img-portraits mnist img-digits16 fashion --methods 'mixae-graph K' --out $R/k-seed0
