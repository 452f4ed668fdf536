#!/usr/bin/env bash
# The torch engine's GPU checks in one short session (~8 min on one H100), prepared by
# benchmarks/gpu_prepare.sh (wheels and MNIST in .gpu/):
#   1. the torch engine's tests, now also on CUDA: float64 equivalence with the numpy engine,
#      eager and replayed from CUDA graphs (tests/engines, ~2 min);
#   2. the benchmark on CUDA: 784-500-10 at batch 100, 1000, 10000, float64 and float32,
#      eager, compiled step, CUDA graphs, beside the numpy engine (~3 min);
#   3. one MNIST training run, network_specs/torch/mnist_784_500_10_b1000.yaml (batch 1000,
#      Adam, cosine, 30 epochs, float32, CUDA graphs; ~2 min): final test accuracy, ms/sample.
#     run(command="bash benchmarks/gpu_check.sh", carry=[".gpu"], timeout_s=600)
# Results in $OUT (the device tool's folder; default gpu_results/): tests.txt, bench_cuda.txt,
# bench_cuda.json, mnist_b1000.txt, mnist_b1000_metrics.json. Copy them to docs/results/torch/.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu_results}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
if [ -d .gpu/wheels ]; then
    $PY -m pip install -q --no-index --find-links .gpu/wheels "numpy==2.3.5" brian2 pydantic array-api-compat pooch 2>&1 | tail -3
fi
export BRIAN_EP_DATA="${BRIAN_EP_DATA:-$PWD/.gpu/data}" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
$PY -c "import torch, numpy, brian_ep; print('torch', torch.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '-')" | tee "$OUT/env.txt"

echo "== 1. tests on CUDA"
timeout 240 $PY -m pytest -q -p no:cacheprovider tests/engines/test_torch_equivalence.py -k "target_configs" \
    tests/engines/test_torch_engine.py 2>&1 | tail -20 | tee "$OUT/tests.txt"

echo "== 2. benchmark on CUDA"
timeout 300 $PY benchmarks/bench_torch_engine.py --device cuda --no-brian --batches 100,1000,10000 --rounds 2 \
    --json "$OUT/bench_cuda.json" 2>&1 | grep -v Warning | tee "$OUT/bench_cuda.txt"

echo "== 3. MNIST at batch 1000 on CUDA"
rm -rf /tmp/mnist_b1000
timeout 300 $PY -m brian_ep.cli train network_specs/torch/mnist_784_500_10_b1000.yaml --out /tmp/mnist_b1000 --quiet 2>&1 \
    | tail -5 | tee "$OUT/mnist_b1000.txt"
cp /tmp/mnist_b1000/metrics.json "$OUT/mnist_b1000_metrics.json" 2>/dev/null || true
