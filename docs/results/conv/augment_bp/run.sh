#!/usr/bin/env bash
# How the files here were made (2026-11-27, 2 shared CPU cores, two runs at a time, one thread each):
# the 64-128 conv architecture of network_specs/conv/fashion_crnn_c64_128.yaml trained as a
# feed-forward network by backprop (--engine bp), 15 epochs, seed 0, with and without data.augment.
export BRIAN_EP_DATA=../shared/data OMP_NUM_THREADS=1
S=network_specs/conv/fashion_crnn_c64_128.yaml
run() { local name=$1; shift; brian-ep train $S --engine bp --set run.torch.device=cpu --set run.epochs=15 --out runs/$name --quiet "$@"; }
run bp_none &
run bp_shift2_flip --set "data.augment={shift: 2, flip: true}" &
wait
run bp_shift2 --set "data.augment={shift: 2}" &
run bp_shift1_flip --set "data.augment={shift: 1, flip: true}" &
wait
# then the wider network, alone (2 threads; the first 10 epochs beside the CI run):
brian-ep train $S --engine bp --set run.torch.device=cpu --set run.epochs=15 \
    --set "model.hidden=[{name: c1, shape: [128, 14, 14]}, {name: c2, shape: [256, 7, 7]}]" --out runs/bp_c128_none --quiet
