"""Fuzzing every loader with random bytes and random ``.npz`` archives: weights files
(``Params.load``, ``load_weights``), checkpoints (``RunDirectory.load_checkpoint`` and the
resume check of the spec they record), spec files, IDX data files and metrics files. Whatever
the input, the only exception that may leave them is the package's own
:class:`~brian_ep.errors.BrianEPError`."""

from __future__ import annotations

import gzip
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brian_ep.architecture import build_architecture
from brian_ep.data import read_idx_pair
from brian_ep.errors import BrianEPError
from brian_ep.maths.params import Params
from brian_ep.resume import check_resume
from brian_ep.rundir import RunDirectory
from brian_ep.spec import load_spec, spec_to_dict
from brian_ep.weights import load_weights

pytestmark = pytest.mark.codegen_independent

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SPEC = load_spec({"model": {"input": {"size": 6}, "hidden": [{"size": 5}], "output": {"size": 3}}})
ARCH = build_architecture(SPEC)
NAMES = ["W:input_h1", "W:h1_output", "b:h1", "b:output", "W:", "b:", "x", "position", "spec", "optim.t",
         "params.W:input_h1", "params.W:h1_output", "params.b:h1", "params.b:output", "optim.m.W:input_h1",
         "optim.v.b:h1", "optim.m.x", "metrics"]

dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_, np.complex128, np.dtype("U3")])
shapes = st.sampled_from([(), (0,), (3,), (5,), (6, 5), (5, 6), (5, 3), (2, 2, 2), (30,)])
arrays = st.builds(lambda dtype, shape, seed: _array(dtype, shape, seed), dtypes, shapes, st.integers(0, 2**16))
json_texts = st.one_of(
    st.builds(json.dumps, st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                                       lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                                       max_leaves=10)),
    st.builds(lambda s: json.dumps({"epoch": s[0], "sample": s[1], "correct": 0, "loss": 0.0, "seconds": 0.0,
                                    "metrics": {"epochs": []}}), st.tuples(st.integers(-2, 3), st.integers(-2, 200))),
    st.builds(lambda d: json.dumps({"spec": d, "brian_ep": "0.1.0"}),
              st.dictionaries(st.sampled_from(["name", "model", "run", "ep"]), st.integers() | st.text(max_size=3))),
    st.text(max_size=20),
)
records = st.builds(lambda text: np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8), json_texts)
archives = st.dictionaries(st.sampled_from(NAMES) | st.text(min_size=1, max_size=6), arrays | records, max_size=8)


def _array(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=shape) * rng.choice([1.0, 1e300])
    if rng.random() < 0.2 and values.size:
        values.flat[0] = rng.choice([np.nan, np.inf])
    if np.dtype(dtype).kind == "U":
        return values.astype(str).astype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        return values.astype(dtype)


def _npz_bytes(content: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **content)
    return buf.getvalue()


def _every_loader(data: bytes) -> None:
    """Hand ``data`` to each loader as the file it reads; each may only raise BrianEPError."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in ("w.npz", "checkpoint.npz", "spec.yaml", "metrics.json", "images.gz", "labels"):
            (tmp / name).write_bytes(data)
        calls = [
            lambda: Params.load(tmp / "w.npz"),
            lambda: load_weights(tmp / "w.npz", ARCH),
            lambda: _checkpoint(tmp),
            lambda: load_spec(tmp / "spec.yaml"),
            lambda: RunDirectory(tmp).read_metrics(),
            lambda: read_idx_pair(tmp / "images.gz", tmp / "labels"),
        ]
        for call in calls:
            try:
                call()
            except BrianEPError:
                pass


def _checkpoint(tmp: Path) -> None:
    checkpoint = RunDirectory(tmp).load_checkpoint(ARCH)
    if checkpoint.spec is not None:
        check_resume(checkpoint.spec, checkpoint.version, spec_to_dict(SPEC), "0.1.0")


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(data):
    _every_loader(data)


@FUZZ
@given(st.binary(max_size=300))
def test_random_gzip_and_zip_contents(data):
    _every_loader(gzip.compress(data))
    _every_loader(_npz_bytes({"x": np.frombuffer(data, dtype=np.uint8)})[: max(1, len(data))])


@FUZZ
@given(archives)
def test_random_npz_archives(content):
    _every_loader(_npz_bytes(content))


@FUZZ
@given(archives, st.integers(0, 10**6))
def test_damaged_npz_archives(content, cut):
    data = _npz_bytes(content)
    _every_loader(data[: cut % max(1, len(data))])
    flipped = bytearray(data)
    if flipped:
        flipped[cut % len(flipped)] ^= 0xFF
    _every_loader(bytes(flipped))


def test_a_valid_checkpoint_and_weights_pass():
    """The fuzzed loaders accept what brian_ep itself writes (so the tests above can fail)."""
    from brian_ep.maths.optim import init_optim_state
    from brian_ep.maths.params import initial_params

    params = initial_params(ARCH, 0)
    with tempfile.TemporaryDirectory() as tmp:
        d = RunDirectory(tmp)
        d.save_checkpoint(params, init_optim_state(params), {"epoch": 0, "sample": 3, "correct": 1, "loss": 0.5, "seconds": 0.1}, SPEC)
        d.save_weights(params)
        checkpoint = d.load_checkpoint(ARCH)
        assert checkpoint.spec == spec_to_dict(SPEC) and checkpoint.position["sample"] == 3
        assert load_weights(Path(tmp) / "weights.npz", ARCH).max_abs_diff(params) == 0.0
