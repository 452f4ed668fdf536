"""Ordinary Brian2 habits with brian_ep objects: the magic run and running past the schedule are
refused with advice, get_params returns copies, brian_ep's own objects cause no warnings
(the user's do), units are checked at the API boundary, and the equation hook reaches every
group, projection, the readout and the learning rules."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from brian2 import Hz, ms, prefs

import brian_ep
from brian_ep.errors import ArgumentError


@pytest.fixture(autouse=True)
def numpy_target():
    previous = prefs.codegen.target
    prefs.codegen.target = "numpy"
    yield
    prefs.codegen.target = previous


def _net(n=3, readout="softmax", **kw):
    spec = brian_ep.make_spec([6, 5, 3], free_steps=6, nudged_steps=2, readout=readout)
    rng = np.random.default_rng(0)
    return brian_ep.build(spec, n, x=rng.random((n, 6)), y=np.eye(3)[rng.integers(0, 3, n)], **kw)


def test_magic_run_is_refused_with_advice():
    from brian2 import run

    net = _net()
    h1 = net.groups["h1"]  # noqa: F841  (the magic network collects it from this frame)
    with pytest.raises(Exception) as info:
        run(net.duration)
    cause = info.value.__cause__ if not isinstance(info.value, ArgumentError) else info.value
    assert isinstance(cause, ArgumentError)
    assert "net.network.run(net.duration)" in str(cause)


def test_after_a_refused_magic_run_the_advice_works():
    """Issue 27: the refused magic run used to leave the objects claimed by the magic network,
    so that net.network.run (the advice) was refused too, wrapped in BrianObjectException."""
    from brian2 import run

    net = _net()
    h1 = net.groups["h1"]  # noqa: F841
    with pytest.raises(Exception):
        run(net.duration)
    before = net.get_params()
    net.network.run(net.duration)
    fresh = _net()
    fresh.network.run(fresh.duration)
    assert net.get_params().max_abs_diff(before) > 0  # it ran and learned
    assert net.get_params().max_abs_diff(fresh.get_params()) == 0.0  # as if run() had never been tried


def test_a_package_refusal_inside_network_run_is_the_packages_error(monkeypatch):
    """A brian_ep error raised while Brian2 prepares an EP object reaches the user as itself,
    not wrapped in Brian2's BrianObjectException."""
    import brian_ep.brian.network as network

    def refuse(obj):
        raise ArgumentError(f"refused {obj.name}")

    net = _net()
    monkeypatch.setattr(network, "_refuse_magic_run", refuse)
    with pytest.raises(ArgumentError, match="refused ep_") as info:
        net.network.run(net.duration)
    assert type(info.value) is ArgumentError


def test_brian2s_report_of_an_uncaught_package_error_is_not_a_brian2_bug_report():
    """Brian2's excepthook logs 'Brian 2 encountered an unexpected error ... report' for any
    uncaught exception; for one a brian_ep error caused, the console shows the refusal."""
    import io
    import sys

    from brian2 import run
    from brian2.utils.logger import BrianLogger, brian_excepthook

    net = _net()
    h1 = net.groups["h1"]  # noqa: F841
    try:
        run(net.duration)
    except Exception:  # noqa: BLE001 - the BrianObjectException Brian2 raises
        exc_info = sys.exc_info()
    stream = io.StringIO()
    old = BrianLogger.console_handler.setStream(stream)
    try:
        brian_excepthook(*exc_info)
    finally:
        BrianLogger.console_handler.setStream(old)
    shown = stream.getvalue()
    assert "brian_ep refused this: 'ep_" in shown and "net.network.run(net.duration)" in shown
    assert "report" not in shown.split("Traceback")[0]


def test_running_past_the_schedule_is_refused():
    net = _net()
    net.network.run(net.duration - net.window_duration)
    net.network.run(net.window_duration)  # up to the end: allowed
    with pytest.raises(ArgumentError, match="after the last sample window"):
        net.network.run(net.dt)


def test_get_params_returns_copies():
    net = _net()
    before = net.get_params()
    net.network.run(net.duration)
    after = net.get_params()
    assert before.max_abs_diff(after) > 1e-6  # a live view would make this 0
    after.W["input_h1"][:] = 0.0
    assert np.any(net.get_params().W["input_h1"] != 0.0)


@pytest.mark.standalone_only
def test_get_params_before_a_standalone_run_gives_the_loaded_weights(brian_device):
    params = brian_ep.maths.initial_params(brian_ep.build_architecture(brian_ep.make_spec([6, 5, 3], readout="softmax")), 3)
    net = _net(params=params)
    assert net.get_params().max_abs_diff(params) == 0.0


def _visible_warnings(run):
    """Warnings Brian2's console would show while ``run()`` executes."""
    from brian2.utils.logger import BrianLogger

    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("brian2")
    logger.addHandler(handler)
    try:
        run()
    finally:
        logger.removeHandler(handler)
    filters = BrianLogger.console_handler.filters
    return [r.getMessage() for r in records if all(f.filter(r) for f in filters)]


def test_no_warnings_from_own_objects_but_from_the_users():
    from brian2 import NeuronGroup

    def script():
        x = np.ones((3, 6))  # noqa: F841  (a user's variables named like EP variables)
        y, w, f, mask, target, tau, r = 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0  # noqa: F841
        net = _net()
        mine = NeuronGroup(2, "dw/dt = -w / (10*ms) : 1", clock=net.clock, name="users_group")
        net.network.add(mine)
        net.network.run(net.duration)

    messages = _visible_warnings(script)
    assert not any("'ep_" in m or '"ep_' in m for m in messages), messages
    assert any("users_group" in m for m in messages), messages  # the user's own conflict is still reported


def test_brian2_dt_warning_about_the_users_synapses_into_an_ep_layer_is_shown():
    """Issue 27: a user's Synapses from a PoissonGroup at 0.1 ms into an EP layer (0.5 ms) is the
    user's object, and Brian2's synapses_dt_mismatch warning about it is shown (the filter drops
    only the warnings about the package's own synapses)."""
    from brian2 import PoissonGroup, Synapses

    def script():
        net = _net()
        assert abs(net.clock.dt - 0.5 * ms) < 1e-9 * ms
        poisson = PoissonGroup(4, 100 * Hz, dt=0.1 * ms, name="users_poisson")
        syn = Synapses(poisson, net.groups["h1"], "count : 1", on_pre="count += 1", name="users_syn")
        syn.connect(p=1.0)
        net.network.add(poisson, syn)
        net.network.run(net.duration)

    messages = _visible_warnings(script)
    assert any("users_syn" in m and "different dt" in m for m in messages), messages
    assert not any("users_syn" not in m and "different dt" in m for m in messages), messages


def test_units_are_checked_at_the_api_boundary():
    from brian2 import DimensionMismatchError

    with pytest.raises(DimensionMismatchError):
        brian_ep.make_spec([4, 2], beta=0.5 * Hz)
    with pytest.raises(DimensionMismatchError):
        brian_ep.make_spec([4, 2], dt=0.5)
    assert brian_ep.make_spec([4, 2], beta=0.25, tau=2 * ms).ep.beta == 0.25


# -- the equation hook ---------------------------------------------------------------------------


def _trained(hook, readout="softmax"):
    net = _net(n=4, readout=readout, modify_equations=hook)
    before = net.get_params()
    net.network.run(net.duration)
    return net, before, net.get_params()


def _changed(before, after, name):
    return float(np.max(np.abs(after.W[name] - before.W[name])))


def test_hook_sees_every_object_and_operation():
    seen = []
    net, _, _ = _trained(lambda key, text: seen.append(key) or text)
    assert set(net.equations) | set(net.code) == set(seen)
    for key in ("input", "h1", "h1_relay", "readout", "normaliser", "input_h1", "h1_output"):
        assert key in net.equations, key
    for key in ("input.load", "h1.free_end", "h1.nudge_end", "h1.window_start", "h1.free_end_ev", "h1_relay.clear", "input_h1.learn", "input_h1.deliver", "h1_output.update", "readout.latch"):
        assert key in net.code, key
    listing = net.listing()
    for obj in net.objects:
        assert obj.name in listing
    assert net.code["h1_output.update"].strip() in listing


def test_hook_reaches_the_learning_rule_of_the_input_projection():
    _, before, after = _trained(lambda key, text: text.replace("w += lr *", "w += 0 * lr *") if key == "input_h1.learn" else text)
    assert _changed(before, after, "input_h1") == 0.0
    assert _changed(before, after, "h1_output") > 0.0


def test_hook_reaches_the_readout_and_its_learning_rule():
    _, before, after = _trained(lambda key, text: text.replace("w += lr *", "w += 0 * lr *") if key == "h1_output.update" else text)
    assert _changed(before, after, "h1_output") == 0.0 and _changed(before, after, "input_h1") > 0.0
    net, _, _ = _trained(lambda key, text: text.replace("o = exp(a) / Z", "o = exp(a) / Z\nseen_o = o") if key == "readout.latch" else (text + "seen_o : 1\n" if key == "readout" else text))
    assert np.all(net.groups["readout"].seen_o[:] > 0)


def _parameter_hook(group, parameter, operation, old, new):
    """A hook that adds a shared ``parameter`` (0 unless set) to ``group`` and puts it into
    ``operation``'s code by replacing ``old`` with ``new``."""

    def hook(key, text):
        if key == group:
            return text + f"{parameter} : 1 (shared)\n"
        if key == operation:
            assert old in text, (key, text)
            return text.replace(old, new)
        return text

    return hook


@pytest.mark.parametrize(
    "hook",
    [
        _parameter_hook("input", "gain", "input.load", "x = stim(t, i)", "x = gain * stim(t, i)"),  # the input layer
        _parameter_hook("input_h1", "w_scale", "input_h1.deliver", "w * x_pre", "w_scale * w * x_pre"),  # the input projection
    ],
)
def test_hook_reaches_the_input_layer_and_the_input_projection(hook):
    net, _, _ = _trained(hook)
    assert np.all(net.relays["h1"].I_in[:] == 0.0)  # the added parameter is 0: no input current


def test_hook_reaches_recurrent_projections_and_hidden_layers():
    def no_feedback(key, text):
        return text.replace("1.0 * w * r_post", "0.0 * w * r_post") if key == "h1_output" else text

    net, _, _ = _trained(no_feedback, readout="none")
    assert "0.0 * w * r_post" in net.equations["h1_output"]
    assert np.all(net.groups["h1"].I_fb_h1_output[:] == 0.0)
