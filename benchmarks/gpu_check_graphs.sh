#!/usr/bin/env bash
# The short second GPU check (~3 min), after the CUDA-graph capture fix (divergence_summary read
# an array scalar on the host; tests/engines/test_torch_batch_sync.py): the torch benchmark's
# 784-500-10 rows at batch 1000 and 10000 with CUDA graphs beside eager and the numpy engine, and
# the public Scaling-EP code on the same GPU in the same process; then MNIST at batch 1000 with
# CUDA graphs (seed 2) in the background while the CUDA-graph equivalence tests run.
#     run(command="bash benchmarks/gpu_check_graphs.sh", carry=[".gpu"], timeout_s=300)
set -uo pipefail
cd "$(dirname "$0")/.."
. benchmarks/gpu_env.sh
R=/tmp/res2
rm -rf "$R" && mkdir -p "$R"
echo "== benchmark (alone on the GPU), $(( $(date +%s) - START )) s"
timeout 110 $PY benchmarks/bench_torch_engine.py --device cuda --no-brian --batches 1000,10000 --rounds 3 --quick --compile-at "" \
    --scaling-ep .gpu/scaling_ep --json "$OUT/bench_torch_cuda_graphs.json" 2>&1 | grep -v Warning | tee "$OUT/bench_torch_cuda_graphs.txt"
echo "== MNIST b1000 with CUDA graphs, seed 2 (background), and the CUDA-graph tests, $(( $(date +%s) - START )) s"
( timeout 100 $PY -m brian_ep.cli train network_specs/torch/mnist_784_500_10_b1000.yaml --set run.seed=2 --out "$R/mnist_b1000_graphs_s2" --quiet \
    > "$OUT/mnist_b1000_graphs_s2.log" 2>&1; cp "$R/mnist_b1000_graphs_s2/metrics.json" "$OUT/mnist_b1000_graphs_s2_metrics.json" ) &
timeout 100 $PY -m pytest -q -p no:cacheprovider tests/engines/test_torch_equivalence.py -k "cuda" 2>&1 | tail -6 | tee "$OUT/tests_cuda_graphs.txt"
wait
$PY benchmarks/epochs_summary.py "$OUT/mnist_b1000_graphs_s2_metrics.json"
tail -2 "$OUT/mnist_b1000_graphs_s2.log"
echo "done in $(( $(date +%s) - START )) s"
