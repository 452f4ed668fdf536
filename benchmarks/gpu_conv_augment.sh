#!/usr/bin/env bash
# Prepared for the next GPU call (~8 min; not yet run): Fashion-MNIST conv rate CRNNs replayed
# from CUDA graphs, three runs together on the GPU (docs/conv.md, "Data augmentation"):
#   - 128-256 channels, Adam 1e-3, 20 epochs, not augmented (the run stopped at epoch 6 before);
#   - 128-256 channels, Adam 1e-3, 25 epochs, data.augment {shift: 1, flip: true};
#   - 64-128 channels, Adam 2e-3 (chosen on validation without augmentation), 40 epochs, the same
#     augmentation (on the CPU, backprop with augmentation still underfitted after 15 epochs).
# Each holds out the last 5,000 training images (the spec's data.validation); the result of a
# run is its final epoch. metrics.json of each run into $OUT, then one summary line per run.
#     bash benchmarks/gpu_prepare.sh     # here, once: wheels and data into .gpu/
#     run(command="bash benchmarks/gpu_conv_augment.sh", carry=[".gpu"], timeout_s=560)
set -uo pipefail
cd "$(dirname "$0")/.."
. benchmarks/gpu_env.sh
S=network_specs/conv/fashion_crnn_c64_128.yaml
WIDE="model.hidden=[{name: c1, shape: [128, 14, 14]}, {name: c2, shape: [256, 7, 7]}]"
AUG="data.augment={shift: 1, flip: true}"
train_graphs $S c128_lr1e-3_e20 520 --set run.epochs=20 --set "$WIDE" &
train_graphs $S c128_aug1f_lr1e-3_e25 520 --set run.epochs=25 --set "$WIDE" --set "$AUG" &
train_graphs $S c64_aug1f_lr2e-3_e40 520 --set run.epochs=40 --set "model.chain.lr=[0.002,0.002,0.002]" --set "$AUG" &
wait
$PY benchmarks/epochs_summary.py "$OUT"/*.json
