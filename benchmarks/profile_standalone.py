"""Where the time of a compiled training (or prediction) program goes: Brian2's own profiler
(``profile=True``, ``profiling_summary``) on MNIST 784-500-10 under cpp_standalone.

    BRIAN_EP_DATA=../shared/data python benchmarks/profile_standalone.py            # ~2 min on 2 cores
    BRIAN_EP_DATA=../shared/data python benchmarks/profile_standalone.py --predict --samples 2000

Prints the share of each code object (per-step and per-window operations, summed variables,
event pathways) and the program's ms/sample (wall clock and CPU time of its process).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.brian.builder import build_network
from brian_ep.brian.program import StandaloneProgram
from brian_ep.data import load_mnist, one_hot
from brian_ep.maths import initial_params
from brian_ep.spec import load_spec

REPO = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--predict", action="store_true", help="profile the prediction program (free phase only)")
    parser.add_argument("--spec", default=str(REPO / "network_specs" / "mnist_784_500_10.yaml"))
    args = parser.parse_args(argv)
    from brian2 import profiling_summary
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    spec = load_spec(args.spec)
    arch = build_architecture(spec)
    ds = load_mnist()
    n = args.samples
    data = {"x": ds.x_train[:n], "y": one_hot(ds.y_train[:n], 10), "mask": np.ones(n), "signs": np.ones(n)}
    program = StandaloneProgram(CPPStandaloneDevice, "profile")
    try:
        net = program.build(lambda: build_network(arch, spec.ep, spec.optim, n, data, predict=args.predict), profile=True)
        params = initial_params(arch, spec.run.seed)
        run_args = {net.synapses[k].w: v.ravel() for k, v in params.W.items()}
        if not args.predict:
            run_args.update({G.n_real: float(n) for G in list(net.relays.values()) + [net.groups[layer.name] for layer in arch.free_layers]})
            if "readout" in net.groups:
                run_args[net.groups["readout"].n_real] = float(n)
        cpu0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        program.run(run_args)
        wall, cpu1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        what = "prediction" if args.predict else "training"
        print(f"{what} program, {n} samples: {1e3 * wall / n:.3f} ms/sample wall, {1e3 * cpu / n:.3f} ms/sample CPU (profiling on)")
        print(program.read(lambda: profiling_summary(net.network, show=20)))
    finally:
        program.close()


if __name__ == "__main__":
    main()
