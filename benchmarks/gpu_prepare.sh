#!/usr/bin/env bash
# Prepare the GPU checks (benchmarks/gpu_check.sh) on a machine with network access: the GPU
# machine reaches no package index and has no MNIST, and its Python (3.12, numpy 2.5, no Brian2,
# no pydantic) cannot import brian_ep as it is. This puts into .gpu/ (ignored by git, ~32 MB):
#   .gpu/wheels  numpy 2.3, brian2 2.9, pydantic, array-api-compat, pooch (cp312, manylinux)
#   .gpu/data    MNIST (the IDX files of $BRIAN_EP_DATA or ../shared/data)
#     bash benchmarks/gpu_prepare.sh          # ~1 min
# Then run the checks with the device tool, carrying .gpu:
#     run(command="bash benchmarks/gpu_check.sh", carry=[".gpu"], timeout_s=600)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu/wheels .gpu/data
PLATFORMS="--platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64"
# without their dependencies (the image has sympy, jinja2, cython...): numpy < 2.4 for brian2 2.9
pip download -q --only-binary=:all: --python-version 3.12 $PLATFORMS --no-deps -d .gpu/wheels "numpy==2.3.5" "brian2==2.9.0"
# with theirs (pydantic pins its core)
pip download -q --only-binary=:all: --python-version 3.12 $PLATFORMS -d .gpu/wheels "pydantic>=2.5" "array-api-compat>=1.9" pooch
SRC="${BRIAN_EP_DATA:-../shared/data}"
cp -r "$SRC/mnist" .gpu/data/
du -sh .gpu
