"""The three forms of the nudging current during the nudged phase, checked step by step
against their definitions (``brian_ep.maths.dynamics.relax``, ``ep.nudge_force``)."""

import numpy as np
import pytest
from conftest import random_problem, small_spec

from brian_ep import maths
from brian_ep.maths.activations import get_activation
from brian_ep.maths.dynamics import input_drive, nudge_current, relax, step
from brian_ep.maths.phases import run_phases
from brian_ep.spec import SpecError


def _setup(**over):
    spec = small_spec(ep__mode="vector_field", model__readout={"kind": "softmax"}, **over)
    arch, params, x, y = random_problem(spec, seed=3, n=4)
    u_free = relax(arch, params, x, 30)
    return arch, params, x, y, u_free


def _manual(arch, params, x, y, u0, beta, n_steps, form):
    """The nudged phase written out: ``recomputed`` uses the current state's nudge, ``constant``
    the free state's, ``accumulated`` the running sum of the recomputed ones."""
    rho = get_activation(arch.top.activation).rho
    drive = input_drive(arch, params, x)
    u, total = dict(u0), np.zeros_like(u0[arch.top.name])
    first = nudge_current(arch, params, rho(u0[arch.top.name]), y, beta)
    for _ in range(n_steps):
        now = nudge_current(arch, params, rho(u[arch.top.name]), y, beta)
        total = total + now
        nudge = {"recomputed": now, "constant": first, "accumulated": total}[form]
        u = step(arch, params, u, drive, nudge)
    return u


@pytest.mark.parametrize("form", ["recomputed", "constant", "accumulated"])
def test_nudged_phase_matches_its_definition(form):
    arch, params, x, y, u_free = _setup()
    got = relax(arch, params, x, 6, u0=u_free, y=y, beta=0.3, nudge_force=form)
    want = _manual(arch, params, x, y, u_free, 0.3, 6, form)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-13)


def test_forms_differ_and_the_accumulated_nudge_moves_the_output_furthest():
    """The three forms are distinct dynamics; integrating the error pushes the output
    towards the target further than the recomputed nudge does in the same steps."""
    arch, params, x, y, u_free = _setup()
    rho = get_activation(arch.top.activation).rho

    def loss(u):
        out = maths.readout_output(arch, params, rho(u[arch.top.name]))
        return -np.mean(np.sum(y * np.log(out), axis=1))

    rec = relax(arch, params, x, 8, u0=u_free, y=y, beta=0.3)
    acc = relax(arch, params, x, 8, u0=u_free, y=y, beta=0.3, nudge_force="accumulated")
    con = relax(arch, params, x, 8, u0=u_free, y=y, beta=0.3, nudge_force="constant")
    top = arch.top.name
    assert np.max(np.abs(acc[top] - rec[top])) > 1e-3
    assert np.max(np.abs(con[top] - rec[top])) > 1e-6
    assert loss(acc) < loss(rec) < loss(u_free)


def test_phases_use_the_spec_nudge_force():
    spec = small_spec(ep__mode="vector_field", ep__nudging="positive", ep__nudge_force="accumulated", model__readout={"kind": "softmax"})
    arch, params, x, y = random_problem(spec, seed=3, n=4)
    ph = run_phases(arch, params, x, y, spec.ep)
    want = relax(arch, params, x, spec.ep.nudged_steps, u0=ph.u_free, y=y, beta=spec.ep.beta, nudge_force="accumulated")
    for k in want:
        np.testing.assert_allclose(ph.u_a[k], want[k], rtol=0, atol=1e-13)


def test_accumulated_nudge_is_refused_in_exact_mode():
    with pytest.raises(SpecError, match="nudge_force 'accumulated'.*vector_field"):
        small_spec(ep__nudge_force="accumulated")
