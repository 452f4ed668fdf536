# Sourced by the GPU scripts (gpu_check.sh, gpu_check_graphs.sh, gpu_conv_long.sh) from the
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
export BRIAN_EP_DATA="${BRIAN_EP_DATA:-$PWD/.gpu/data}" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
