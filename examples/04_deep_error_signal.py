"""How far the error signal reaches in a deep feedback-regulated network, with and without
residual skips, and whether float32 can resolve it.

    BRIAN_EP_DATA=../shared/data python examples/04_deep_error_signal.py     # ~20 s

For the 10 x 64 depth-table networks (authors' vector-field mode, gamma = 0.1, initial
weights, 200 MNIST samples), and the same depth in exact mode, prints per hidden layer the
mean change of the state that the nudged phase causes, |u^beta - u^0| (the quantity the update is built from), and the relative
error of that change when the same computation runs in float32 instead of float64.
Expected: without skips the change shrinks ~10x per layer (~1e-11 at h1) and float32 gets the
lower layers' changes wrong by more than 100%; with skips every 3 layers h1 sees ~1e-5 and
float32 is accurate to < 1%. In exact mode a skip over 3 layers must carry feedback gamma^3
to keep an energy, so it adds a path no stronger than the chain: h1 gains ~200x, not ~1e6x.
"""

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.data import load_mnist, one_hot
from brian_ep.maths import init_params
from brian_ep.maths.phases import run_phases
from brian_ep.spec import load_spec


def main():
    ds = load_mnist()
    x, y = ds.x_train[:200], one_hot(ds.y_train[:200], 10)
    cases = (
        ("vector-field mode, chain only", "network_specs/fre/depth_L10x64_vf.yaml"),
        ("vector-field mode, skips 1-4-7-10 (feedback gamma)", "network_specs/fre/depth_L10x64_vf_res.yaml"),
        ("exact mode, chain only", "network_specs/fre/examples/L10_exact_regulated.yaml"),
        ("exact mode, skips 1-4-7-10 (feedback gamma^3, energy-consistent)", "network_specs/fre/examples/L10_exact_dense_every.yaml"),
    )
    for label, path in cases:
        spec = load_spec(path, overrides={"model.chain.gamma": 0.1})
        arch = build_architecture(spec)
        params = init_params(arch, np.random.default_rng(0))
        change = {}
        for dtype in (np.float64, np.float32):
            ph = run_phases(arch, params.astype(dtype), x.astype(dtype), y.astype(dtype), spec.ep)
            change[dtype] = {layer.name: ph.u_a[layer.name].astype(np.float64) - ph.u_free[layer.name] for layer in arch.free_layers}
        print(f"{label}:")
        print(f"  {'layer':>6s} {'mean |u_beta - u_0|':>20s} {'float32 relative error':>24s}")
        for name, d64 in change[np.float64].items():
            mag = np.abs(d64).mean()
            err = np.abs(change[np.float32][name] - d64).mean() / mag
            print(f"  {name:>6s} {mag:20.2e} {err:24.2e}")


if __name__ == "__main__":
    main()
