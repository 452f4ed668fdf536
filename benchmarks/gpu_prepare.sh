#!/usr/bin/env bash
# Prepare the GPU checks (benchmarks/gpu_check.sh) on a machine with network access: the GPU
# machine reaches no package index and has no data sets. Its Python (3.12, numpy 2.5, torch,
# sympy, jinja2, cython, scipy, matplotlib, pyyaml, tqdm) lacks Brian2, brian2cuda, pydantic,
# pooch and snntorch. This puts into .gpu/ (ignored by git, ~47 MB, under the device tool's 64 MiB):
#   .gpu/wheels      brian2 2.10.1, brian2cuda 1.0b1, pydantic (+ core, annotated-types,
#                    typing-inspection, typing_extensions), array-api-compat, pooch, platformdirs,
#                    snntorch (cp312, manylinux; installed there with --no-deps)
#   .gpu/data        MNIST and Fashion-MNIST (the .gz IDX files of $BRIAN_EP_DATA or ../shared/data)
#   .gpu/scaling_ep  model_utils.py and data_utils.py of Laborieux-Axel/Equilibrium-Propagation
#                    (the reference timed by benchmarks/scaling_ep_reference.py; give its checkout
#                    as SCALING_EP=/path/to/checkout)
#     SCALING_EP=... bash benchmarks/gpu_prepare.sh          # ~1 min
# Then run the checks with the device tool, carrying .gpu:
#     run(command="bash benchmarks/gpu_check.sh", carry=[".gpu"], timeout_s=580)
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu && mkdir -p .gpu/wheels .gpu/data .gpu/scaling_ep
PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $PLATFORMS -d .gpu/wheels \
    brian2==2.10.1 pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
    typing_extensions==4.16.0 array-api-compat==1.16.0 pooch==1.9.0 platformdirs==4.14.8
python3 -m pip download -q --no-deps -d .gpu/wheels brian2cuda==1.0b1 snntorch==1.0.0
SRC="${BRIAN_EP_DATA:-../shared/data}"
cp -r "$SRC/mnist" "$SRC/fashion-mnist" .gpu/data/
cp "${SCALING_EP:?checkout of Laborieux-Axel/Equilibrium-Propagation}"/{model_utils,data_utils}.py .gpu/scaling_ep/
du -sh .gpu
