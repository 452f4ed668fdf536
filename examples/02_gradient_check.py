"""EP's weight update against the loss gradient computed two other ways.

    python examples/02_gradient_check.py          # ~10 s

For a small network (6-5-4-3, sigmoid rate neurons) and 3 samples, prints per projection the
cosine and the norm ratio between the centered EP estimate at beta = 1e-3 and (a) recurrent
backprop (implicit differentiation at the free fixed point, numpy) and (b) backprop through
time of the same Euler dynamics (torch autograd, if installed), for several feedback factors
gamma and a network with residual skips, as 1 - cosine and ratio - 1. Expected: cosine >= 0.99
and ratio ~1 everywhere (tests/maths/test_gradient_check.py asserts it); measured ~1e-7.
"""

import numpy as np

from brian_ep import load_spec, maths
from brian_ep.architecture import build_architecture
from brian_ep.maths.phases import run_phases


def spec_for(gamma, hidden, residual=None):
    d = {
        "model": {
            "input": {"size": 6},
            "hidden": hidden,
            "output": {"size": 3},
            "neuron": {"activation": "sigmoid", "tau": "1 ms"},
            "chain": {"gamma": gamma, "init": {"gain": 1.5}},
        },
        "ep": {"dt": "0.5 ms", "free_steps": 2000, "nudged_steps": 2000, "beta": 1e-3, "nudging": "centered"},
    }
    if residual:
        d["model"]["residual"] = residual
    return load_spec(d)


def bptt(arch, params, x, y, n_steps=400):
    import torch

    W = {k: torch.tensor(v, requires_grad=True) for k, v in params.W.items()}
    b = {k: torch.tensor(v, requires_grad=True) for k, v in params.b.items()}
    xt, yt = torch.tensor(x), torch.tensor(y)
    u = {layer.name: torch.zeros(x.shape[0], layer.size, dtype=torch.float64) for layer in arch.free_layers}
    for _ in range(n_steps):
        r = {name: torch.sigmoid(v) for name, v in u.items()}
        r[arch.input.name] = xt
        I = {name: b[name] + 0 * u[name] for name in u}
        for p in arch.projections:
            I[p.post] = I[p.post] + r[p.pre] @ W[p.name]
            if p.pre != arch.input.name:
                I[p.pre] = I[p.pre] + p.gamma * (r[p.post] @ W[p.name].T)
        u = {layer.name: u[layer.name] + layer.eps * (I[layer.name] - u[layer.name]) for layer in arch.free_layers}
    loss = 0.5 * ((torch.sigmoid(u[arch.top.name]) - yt) ** 2).sum(1).mean()
    loss.backward()
    return {k: v.grad.numpy() for k, v in W.items()}


def main():
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
    cases = [(f"gamma = {g:g}", spec_for(g, [{"size": 5}, {"size": 4}])) for g in (1.0, 0.5, 0.2, 0.05)]
    cases.append(("gamma = 0.5, 5 hidden, skips every 2", spec_for(0.5, {"count": 5, "size": 4}, [{"topology": "dense_every", "k": 2}])))
    print(f"{'network':38s} {'projection':10s} {'1-cos(EP,RBP)':>14s} {'|EP|/|RBP|-1':>13s} {'1-cos(EP,BPTT)':>15s}")
    for label, spec in cases:
        arch = build_architecture(spec)
        rng = np.random.default_rng(0)
        params = maths.init_params(arch, rng)
        for k in params.b:
            params.b[k] = rng.normal(0, 0.3, size=params.b[k].shape)
        x = rng.random((3, 6))
        y = np.eye(3)[[0, 1, 2]]
        ph = run_phases(arch, params, x, y, spec.ep)
        ep = maths.ep_gradient(arch, params, x, y, ph.u_a, ph.u_b, ph.beta_a, ph.beta_b, u_free=ph.u_free)
        rbp = maths.recurrent_backprop_gradient(arch, params, x, y, ph.u_free)
        bp = bptt(arch, params, x, y) if have_torch else None
        for p in arch.projections:
            a, b = ep.W[p.name], rbp.W[p.name]
            cos = np.sum(a * b) / np.linalg.norm(a) / np.linalg.norm(b)
            ratio = np.linalg.norm(a) / np.linalg.norm(b)
            cos_bptt = np.sum(a * bp[p.name]) / np.linalg.norm(a) / np.linalg.norm(bp[p.name]) if bp else float("nan")
            print(f"{label:38s} {p.name:10s} {1 - cos:14.2e} {ratio - 1:13.2e} {1 - cos_bptt:15.2e}")


if __name__ == "__main__":
    main()
