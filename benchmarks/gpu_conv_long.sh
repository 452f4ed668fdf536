#!/usr/bin/env bash
# Third GPU call (~3 min): Fashion-MNIST conv rate CRNNs replayed from CUDA graphs, longer
# than the first call's 12 epochs: 64-128 channels, Adam 2e-3 (chosen on validation in the
# first call), 25 epochs; and 128-256 channels (the same spec with the channels doubled), Adam
# 1e-3, 15 epochs; together on the GPU. metrics.json of each run into $OUT.
#     run(command="bash benchmarks/gpu_conv_long.sh", carry=[".gpu"], timeout_s=200)
set -uo pipefail
cd "$(dirname "$0")/.."
. benchmarks/gpu_env.sh
S=network_specs/conv/fashion_crnn_c64_128.yaml
train_graphs $S c64_lr2e-3_e25 165 --set run.epochs=25 --set "model.chain.lr=[0.002,0.002,0.002]" &
train_graphs $S c128_lr1e-3_e15 165 --set run.epochs=15 --set "model.hidden=[{name: c1, shape: [128, 14, 14]}, {name: c2, shape: [256, 7, 7]}]" &
wait
$PY benchmarks/epochs_summary.py "$OUT"/*.json
