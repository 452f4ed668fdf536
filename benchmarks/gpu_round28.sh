#!/usr/bin/env bash
# Issue 28 in one GPU call (prepared on the CPU, not yet run on a GPU; about 9 minutes):
#     bash benchmarks/gpu_prepare.sh     # here, once: wheels, MNIST, Fashion-MNIST and the Scaling-EP code into .gpu/
#     run(command="bash benchmarks/gpu_round28.sh", carry=[".gpu"], timeout_s=590)
# Timeline (seconds from the start; every step has its own limit and what finished is collected):
#   0    install the carried wheels (gpu_env.sh)
#   ~20  like-for-like speed, alone on the GPU: brian_ep's torch engine (eager and CUDA graphs) and
#        Scaling-EP's P_MLP step (re-implemented, and their own class from .gpu/scaling_ep) on the
#        same 784-512-10, MSE, output layer in the state, 30 free + 10 nudged steps, beta 0.1,
#        one-sided, float32, batch 50 and 1,000 (benchmarks/bench_scaling_ep_equal.py; limit mark 150)
#   ~150 [together on the GPU, until mark 555]
#        - Fashion-MNIST conv rate CRNN 128-256 (fashion_crnn_c64_128.yaml with the channels doubled),
#          Adam 1e-3 and 2e-3, cosine over 15 epochs, last 5,000 training images held out: the
#          learning rate is chosen by the final epoch's validation accuracy, its test accuracy is the result
#          (backprop on this architecture: 91.43% test, docs/conv.md); CUDA graphs
#        - the spiking conv CRNN (fashion_scrnn_c64_128.yaml) for its full 10 epochs (eager: its noise
#          cannot be replayed from a graph; the first GPU call stopped it at 8 of 10 with the GPU shared)
#        - the deepest FRE spec, depth_L20x64_vf_res_multiscale_30ep.yaml (the CPU run's settings: 94.05%
#          test at epoch 30, docs/fre.md) in the torch engine with CUDA graphs, beside backprop on the
#          same layers (--engine bp, on the CPUs; skips are ignored by bp, as in the CPU table)
#   ~560 collect: $OUT/round28.tgz (logs, metrics.json per run, with metrics per epoch) and
#        $OUT/round28_summary.txt (one line per run, every epoch), $OUT/scaling_ep_equal_cuda.{json,txt}
# Estimates, not measurements: the 128-256 network took 9.8-10.8 s per epoch with 2 processes on the
# H200, so 15 epochs with 5 processes on the GPU may take most of the call. The FRE network is many
# tiny kernels: about 3 ms of host time per step in the torch engine on one CPU thread (28 projections;
# 300 steps per mini-batch, 120 mini-batches per epoch, so ~100 s per epoch eager); replayed from CUDA
# graphs perhaps 10-20 s per epoch alone on the GPU. Its 30 epochs will most likely NOT finish in this
# shared call: its per-epoch JSON then gives the speed for a call of its own, ROUND28_PARTS=fre (the FRE
# runs alone, until the same mark). ROUND28_PARTS picks the parts (default "bench conv scrnn fre");
# FRE_EPOCHS=N changes the FRE length. Runs stopped by their limit keep the metrics of the epochs
# they finished (metrics.json is written after every epoch).
# A check on the CPU with tiny data (every override parsed, one epoch of 64 samples per run; 8-15 min on
# the 2 shared cores under load, the FRE run the slowest):
#     ROUND28_TINY=1 BRIAN_EP_DATA=../shared/data bash benchmarks/gpu_round28.sh
set -uo pipefail
cd "$(dirname "$0")/.."
FINAL="${OUT:-/tmp/round28_out}"   # $OUT of the device tool; on the CPU a folder outside the repository
OUT=/tmp/round28
rm -rf "$OUT"
. benchmarks/gpu_env.sh            # PY, OUT, START, train_graphs
mkdir -p "$FINAL"
left() { echo $(( $1 - ($(date +%s) - START) )); }   # seconds until mark $1
TINY="${ROUND28_TINY:-0}"
PARTS=" ${ROUND28_PARTS:-bench conv scrnn fre} "
want() { [[ "$PARTS" == *" $1 "* ]]; }
FRE_EPOCHS="${FRE_EPOCHS:-30}"
if [ "$TINY" = 1 ]; then           # the CPU check: one epoch of a few samples, no CUDA
    DEV=cpu; SCALE=(--scale 0.02 --rounds 1 --data random); MARK_BENCH=400; MARK_END=1500
    SMALL=(--set run.torch.device=cpu --set run.torch.cuda_graphs=false --set run.epochs=1
           --set data.n_train=64 --set data.n_test=32 --set run.chunk_size=64 --set run.eval_batch_size=32)
    VAL=(--set data.validation=32); FRE_EPOCHS=1
else
    DEV=cuda; SCALE=(--rounds 3 --no-numpy); MARK_BENCH=150; MARK_END=555; SMALL=(); VAL=()
fi
CODE=(); [ -f .gpu/scaling_ep/model_utils.py ] && CODE=(--code .gpu/scaling_ep)
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU (ROUND28_TINY=$TINY)"
  nproc; $PY -c "import sys, torch, numpy, brian_ep; print(sys.version.split()[0], 'torch', torch.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available())"
} 2>&1 | tee "$OUT/env.txt"

if want bench; then
    echo "== like-for-like speed against Scaling-EP ($DEV, alone)"
    timeout "$(left $MARK_BENCH)" $PY benchmarks/bench_scaling_ep_equal.py --device $DEV "${SCALE[@]}" "${CODE[@]}" \
        --json "$OUT/scaling_ep_equal_$DEV.json" 2>&1 | grep -v Warning | tee "$OUT/scaling_ep_equal_$DEV.txt"
fi

echo "== trainings (background, sharing the GPU until mark $MARK_END)"
CONV=network_specs/conv/fashion_crnn_c64_128.yaml
WIDE="model.hidden=[{name: c1, shape: [128, 14, 14]}, {name: c2, shape: [256, 7, 7]}]"
FRE_SPEC=network_specs/fre/depth_L20x64_vf_res_multiscale_30ep.yaml
if want conv; then
    train_graphs $CONV c128_lr1e-3_e15 "$(left $MARK_END)" --set run.epochs=15 --set "$WIDE" "${SMALL[@]}" "${VAL[@]}" &
    train_graphs $CONV c128_lr2e-3_e15 "$(left $MARK_END)" --set run.epochs=15 --set "$WIDE" \
        --set "model.chain.lr=[0.002,0.002,0.002]" "${SMALL[@]}" "${VAL[@]}" &
fi
want scrnn && ( timeout "$(left $MARK_END)" $PY -m brian_ep.cli train network_specs/conv/fashion_scrnn_c64_128.yaml --out /tmp/scrnn_c64_e10 \
      --quiet "${SMALL[@]}" "${VAL[@]}" > "$OUT/scrnn_c64_e10.log" 2>&1
  cp /tmp/scrnn_c64_e10/metrics.json "$OUT/scrnn_c64_e10.json" 2>/dev/null ) &
if want fre; then
    train_graphs $FRE_SPEC fre_L20x64_ms_ep "$(left $MARK_END)" --engine torch --set run.torch.device=cuda \
        --set run.epochs="$FRE_EPOCHS" "${SMALL[@]}" &
    ( timeout "$(left $MARK_END)" $PY -m brian_ep.cli train $FRE_SPEC --engine bp --out /tmp/fre_L20x64_ms_bp --quiet \
          --set run.epochs="$FRE_EPOCHS" "${SMALL[@]}" > "$OUT/fre_L20x64_ms_bp.log" 2>&1
      cp /tmp/fre_L20x64_ms_bp/metrics.json "$OUT/fre_L20x64_ms_bp.json" 2>/dev/null ) &
fi
wait

echo "== summary ($(( $(date +%s) - START )) s)"
shopt -s nullglob; RUNS=(); for f in "$OUT"/*.log; do case $f in */scaling_ep_equal*) ;; *) RUNS+=("${f%.log}.json");; esac; done
$PY benchmarks/epochs_summary.py "${RUNS[@]}" 2>&1 | tee "$OUT/round28_summary.txt"
tar czf "$FINAL/round28.tgz" -C /tmp round28
cp "$OUT/round28_summary.txt" "$OUT"/scaling_ep_equal_* "$FINAL/" 2>/dev/null
echo "done in $(( $(date +%s) - START )) s"
