#!/usr/bin/env bash
# Every GPU check of the project in one device session (one command, under 9.5 min), prepared by
# benchmarks/gpu_prepare.sh (wheels, MNIST + Fashion-MNIST and the Scaling-EP code in .gpu/):
#     run(command="bash benchmarks/gpu_check.sh", carry=[".gpu"], timeout_s=580)
# Timeline (seconds from the start; each step has its own limit, so one slow step cannot keep
# the later ones from running, and what finished is collected at the end):
#   0    install the wheels (brian2 2.10.1, brian2cuda, pydantic, pooch, snntorch ...) into /tmp/site
#   ~20  torch engine benchmark, alone on the GPU and the CPUs: 784-500-10 at batch 1/100/1000/10000 (eager,
#        CUDA graphs, float64/float32, compiled step at 1000), the conv CRNN at 1/100/1000, numpy
#        rows, and the public Scaling-EP code on the same GPU (ratio printed)
#   ~170 [background] brian2cuda: digits under cpp_standalone and cuda_standalone (2 epochs, seed 0),
#        then MNIST train/predict ms/sample on both (benchmarks/bench_cuda.py; nvcc builds on the CPUs)
#   ~170 [background, together on the GPU] MNIST 784-500-10 at batch 1000 (seeds 0, 1, 2; 15 epochs),
#        Fashion-MNIST conv rate CRNN 64-128 (Adam 1e-3 and 2e-3, chosen on the validation split),
#        conv stochastic-spiking CRNN 64-128
#   ~170 the torch engine's tests on CUDA (equivalence with the numpy engine, float64)
#   ~540 collect: $OUT/results.tgz (every log, metrics.json, benchmark json) and $OUT/summary.txt
# Epoch times of the concurrent runs are measured with the GPU shared (stated in docs/).
set -uo pipefail
cd "$(dirname "$0")/.."
. benchmarks/gpu_env.sh
R=/tmp/res
rm -rf "$R" && mkdir -p "$R"
left() { echo $(( $1 - ($(date +%s) - START) )); }   # seconds until mark $1
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
[ -n "$NVCC" ] && export CUDA_PATH="${CUDA_PATH:-$(dirname "$(dirname "$NVCC")")}" PATH="$(dirname "$NVCC"):$PATH"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc; "$NVCC" --version | tail -2
  $PY -c "import sys, torch, numpy, brian2, brian_ep; print(sys.version.split()[0], 'torch', torch.__version__, 'numpy', numpy.__version__, 'brian2', brian2.__version__, 'cuda', torch.cuda.is_available())"
  $PY -c "import brian2cuda, snntorch; print('brian2cuda', brian2cuda.__version__, 'snntorch', snntorch.__version__)"; } 2>&1 | tee "$R/env.txt"

echo "== torch engine benchmark (alone on the GPU)"
timeout $(left 170) $PY benchmarks/bench_torch_engine.py --device cuda --no-brian --batches 1,100,1000,10000 --rounds 2 \
    --quick --compile-at 1000 --conv --scaling-ep .gpu/scaling_ep --json "$R/bench_torch_cuda.json" 2>&1 \
    | grep -v Warning | tee "$R/bench_torch_cuda.txt"

echo "== brian2cuda (background)"
( timeout $(left 525) $PY benchmarks/bench_cuda.py --epochs 2 --mnist 1000 --out "$R/bench_brian_cuda.txt" > "$R/brian_cuda.log" 2>&1
  echo "exit $?" >> "$R/brian_cuda.log" ) &

echo "== trainings (background, sharing the GPU)"
train() {  # name, limit mark, spec, extra args...; CUDA graphs first where asked, eager if they fail at once
    local name=$1 mark=$2 spec=$3; shift 3
    timeout $(left "$mark") $PY -m brian_ep.cli train "$spec" --out "$R/$name" --quiet "$@" > "$R/$name.log" 2>&1
    echo "exit $?" >> "$R/$name.log"
}
( for s in 0 1 2; do
    train "mnist_b1000_s$s" 330 network_specs/torch/mnist_784_500_10_b1000.yaml --set run.seed=$s
    if ! [ -f "$R/mnist_b1000_s$s/metrics.json" ]; then
      train "mnist_b1000_eager_s$s" 330 network_specs/torch/mnist_784_500_10_b1000.yaml --set run.seed=$s --set run.torch.cuda_graphs=false
    fi
  done ) &
train fashion_c64_lr1e-3 525 network_specs/conv/fashion_crnn_c64_128.yaml --set run.epochs=12 &
train fashion_c64_lr2e-3 525 network_specs/conv/fashion_crnn_c64_128.yaml --set run.epochs=12 --set "model.chain.lr=[0.002,0.002,0.002]" &
train fashion_scrnn_c64 525 network_specs/conv/fashion_scrnn_c64_128.yaml --set run.epochs=8 &

echo "== torch engine tests on CUDA"
timeout $(left 330) $PY -m pytest -q -p no:cacheprovider tests/engines/test_torch_equivalence.py -k "cuda" 2>&1 | tail -15 | tee "$R/tests_cuda.txt"
timeout $(left 400) $PY -m pytest -q -p no:cacheprovider tests/engines/test_torch_engine.py 2>&1 | tail -8 | tee -a "$R/tests_cuda.txt"

echo "== waiting for the background runs ($(left 530) s left)"
sleep "$(( $(left 530) > 0 ? $(left 530) : 0 ))" & SLEEP=$!
while kill -0 $SLEEP 2>/dev/null && [ -n "$(jobs -rp | grep -v "^$SLEEP$")" ]; do sleep 5; done
kill $SLEEP 2>/dev/null

echo "== summary"
$PY benchmarks/epochs_summary.py "$R" 2>&1 | tee "$R/summary.txt"
tail -12 "$R/brian_cuda.log"
tar czf "$OUT/results.tgz" --exclude="*.npz" --exclude=standalone -C /tmp res   # no weights: under 16 MiB
cp "$R/summary.txt" "$R/bench_torch_cuda.txt" "$R/brian_cuda.log" "$OUT/" 2>/dev/null
echo "done in $(( $(date +%s) - START )) s"
