# Sourced by the GPU scripts (gpu_check.sh, gpu_check_graphs.sh, gpu_conv_long.sh, gpu_conv_augment.sh) from the
# repository root: installs the carried wheels of .gpu/wheels into /tmp/site (the GPU machine
# reaches no package index) and sets PY, OUT, START, PYTHONPATH and BRIAN_EP_DATA.
START=$(date +%s)
OUT="${OUT:-gpu_results}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
if [ -d .gpu/wheels ]; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/wheels/*.whl 2>&1 | tail -3
    export PYTHONPATH=/tmp/site
fi
# train_graphs SPEC NAME LIMIT ARGS...: brian-ep train replayed from CUDA graphs into /tmp/NAME,
# at most LIMIT seconds; its log and metrics.json into $OUT (NAME.log, NAME.json)
train_graphs() {
    local spec=$1 name=$2 limit=$3; shift 3
    timeout "$limit" $PY -m brian_ep.cli train "$spec" --out /tmp/$name --quiet --set run.torch.cuda_graphs=true "$@" > "$OUT/$name.log" 2>&1
    cp /tmp/$name/metrics.json "$OUT/$name.json" 2>/dev/null || echo "no metrics: $(tail -c 400 "$OUT/$name.log")"
}
export BRIAN_EP_DATA="${BRIAN_EP_DATA:-$PWD/.gpu/data}" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
