"""EP on a convolutional network: the kernel update against the loss gradient.

    python examples/05_conv_gradient_check.py          # ~10 s

A tiny CRNN (a 1x6x6 image -> 3x3 convolution and 2x2 average pooling into 2x3x3 -> 3x3
convolution into 3x3x3 -> 3 outputs, sigmoid rate neurons, gamma 0.5) and 3 random samples.
Prints, per projection, 1 - cosine and the norm ratio - 1 between the centered EP update at
beta = 1e-3 (the correlation of pre- and post-synaptic rates at the two nudged states, summed
over positions) and recurrent backprop (implicit differentiation at the free fixed point, the
convolutions written as dense matrices), and the inner-product identity that makes the
transposed convolution the feedback. Measured: 1 - cosine < 2e-15, ratio - 1 ~ -1.4e-7
(``tests/maths/test_conv_gradient_check.py`` asserts it, with finite differences and BPTT too).
"""

import numpy as np

from brian_ep import load_spec, maths
from brian_ep.architecture import build_architecture
from brian_ep.maths.phases import run_phases
from brian_ep.maths.projections import feedback, feedforward

SPEC = {
    "model": {
        "input": {"shape": [1, 6, 6]},
        "hidden": [{"name": "c1", "shape": [2, 3, 3]}, {"name": "c2", "shape": [3, 3, 3]}],
        "output": {"size": 3},
        "neuron": {"activation": "sigmoid", "tau": "1 ms"},
        "chain": {"gamma": 0.5, "init": {"gain": 1.5}},
        "projections": [
            {"pre": "input", "post": "c1", "conv": {"kernel": 3, "padding": 1, "pool": "avg"}},
            {"pre": "c1", "post": "c2", "conv": {"kernel": 3, "padding": 1}},
        ],
    },
    "ep": {"dt": "0.5 ms", "free_steps": 300, "nudged_steps": 300, "beta": 1e-3, "nudging": "centered"},
    "run": {"engine": "numpy"},
}


def main():
    spec = load_spec(SPEC)
    arch = build_architecture(spec)
    rng = np.random.default_rng(0)
    params = maths.init_params(arch, rng)
    x, y = rng.random((3, 36)), np.eye(3)[[0, 1, 2]]

    p = arch.projection("input_c1")
    r, s = rng.normal(size=(2, 36)), rng.normal(size=(2, 18))
    lhs = np.sum(s * feedforward(p, r, params.W[p.name]))
    rhs = np.sum(r * feedback(p, s, params.W[p.name]))
    print(f"<s, A_W r> = {lhs:.15f}\n<A_W^T s, r> = {rhs:.15f}  (transposed convolution = adjoint)\n")

    ph = run_phases(arch, params, x, y, spec.ep)
    g_ep = maths.ep_gradient(arch, params, x, y, ph.u_a, ph.u_b, ph.beta_a, ph.beta_b, u_free=ph.u_free)
    g_rbp = maths.recurrent_backprop_gradient(arch, params, x, y, ph.u_free)
    print(f"{'projection':12s} {'weights':>14s} {'1 - cos':>10s} {'ratio - 1':>10s}")
    for q in arch.projections:
        a, b = g_ep.W[q.name], g_rbp.W[q.name]
        cos = np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b))
        ratio = np.linalg.norm(a) / np.linalg.norm(b)
        print(f"{q.name:12s} {str(a.shape):>14s} {1 - cos:10.2e} {ratio - 1:10.2e}")


if __name__ == "__main__":
    main()
