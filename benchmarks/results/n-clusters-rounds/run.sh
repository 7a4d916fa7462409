#!/bin/sh
# Told n_clusters after the rounds-not-E-steps change (session 33), then the seed-0 suite's
# default fits on the sets not refitted since the fine split. One fit at a time.
set -x
cd "$(dirname "$0")/../../.."
R=benchmarks/results/n-clusters-rounds
P=.venv/bin/python
$P -u benchmarks/quality.py --seeds 1 2 --datasets img-turntable --methods 'mixae-graph K' --out $R/turntable-k
$P -u benchmarks/quality.py --seeds 0 --datasets digits img-portraits stress-touching stress-hierarchy stress-unequal stress-small stress-noise img-digits16 fashion mnist --methods mixae-graph 'first partition' 'trunk only' --out $R/suite-seed0
$P -u benchmarks/quality.py --seeds 0 --datasets digits img-portraits img-digits16 fashion mnist --methods 'mixae-graph K' --out $R/k-seed0
