"""The compiled-program cache (``brian_ep/brian/program_cache.py``): keyed by the generated
code, built once under concurrent requests, listed and cleared; a second ``brian-ep train`` of
a spec with another seed compiles nothing and gives the weights of a run that compiled."""

from __future__ import annotations

import multiprocessing
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from brian_ep.architecture import build_architecture
from brian_ep.brian import program_cache as pc
from brian_ep.cli import main
from brian_ep.weights import load_weights
from brian_ep.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
DIGITS = str(REPO / "network_specs" / "digits.yaml")
TINY = [
    "--set", "model.hidden=[{size: 8}]", "--set", "model.readout={kind: none}", "--set", "ep.free_steps=8",
    "--set", "ep.nudged_steps=3", "--set", "data.n_train=40", "--set", "data.n_test=20", "--set", "run.chunk_size=20",
    "--epochs", "1", "--quiet",
]


def _project(folder: Path, main_text="int main() {}\n") -> Path:
    """A fake generated project (what ``device.build(compile=False)`` writes)."""
    (folder / "code_objects").mkdir(parents=True)
    (folder / "results").mkdir()
    (folder / "main.cpp").write_text(main_text)
    (folder / "code_objects" / "a.cpp").write_text("// a\n")
    return folder


def _compile(folder: Path) -> None:
    (folder / "main").write_text("binary of " + (folder / "main.cpp").read_text())


@pytest.mark.codegen_independent
def test_key_follows_the_generated_code_and_not_the_run_outputs(tmp_path):
    a, b = _project(tmp_path / "a"), _project(tmp_path / "b")
    assert pc.program_key(a) == pc.program_key(b)
    (b / "results" / "w.dat").write_bytes(b"run output")  # what a run writes is no part of the program
    assert pc.program_key(a) == pc.program_key(b)
    (b / "code_objects" / "a.cpp").write_text("// A\n")
    assert pc.program_key(a) != pc.program_key(b)
    (b / "code_objects" / "a.cpp").write_text("// a\n")
    (b / "code_objects" / "b.cpp").write_text("")  # a file more, even empty
    assert pc.program_key(a) != pc.program_key(b)


@pytest.mark.codegen_independent
def test_cached_build_compiles_once_copies_and_clears(tmp_path):
    root = tmp_path / "cache"
    calls = []

    def compile_project(folder):
        calls.append(folder)
        _compile(folder)

    entry, compiled = pc.cached_build(root, _project(pc.staging_folder(root)), compile_project, {"kind": "train"})
    again, compiled_again = pc.cached_build(root, _project(pc.staging_folder(root)), compile_project)
    assert (compiled, compiled_again, again, len(calls)) == (True, False, entry, 1)
    assert [p.name for p in root.iterdir() if p.name.startswith(".build-")] == []  # both staging folders gone
    run = tmp_path / "run" / "train"
    pc.copy_program(entry, run)
    assert (run / "main").read_text() == "binary of int main() {}\n" and not (run / pc.STAMP).exists()
    other, _ = pc.cached_build(root, _project(pc.staging_folder(root), "int main() { return 1; }\n"), compile_project)
    listed = pc.list_entries(root)
    assert {e.key for e in listed} == {entry.name, other.name} and all(e.size > 0 for e in listed)
    assert "2 compiled program(s)" in pc.describe_entries(root, listed)
    (root / "keep-me").mkdir()  # not an entry: never removed, whatever folder the cache is
    ended = subprocess.Popen(["true"])
    ended.wait()
    orphan = root / f".build-{ended.pid}@{socket.gethostname()}-x"  # left by a killed build
    busy = pc.staging_folder(root)  # this process is alive: its folder stays
    orphan.mkdir()
    count, freed = pc.clear_cache(root)
    assert count == 2 and freed == sum(e.size for e in listed)
    assert pc.list_entries(root) == [] and (root / "keep-me").is_dir()
    assert not orphan.exists() and busy.is_dir()


@pytest.mark.codegen_independent
def test_an_entry_without_its_stamp_is_built_again(tmp_path):
    root = tmp_path / "cache"
    entry, _ = pc.cached_build(root, _project(pc.staging_folder(root)), _compile)
    (entry / pc.STAMP).unlink()  # e.g. an entry damaged by hand
    assert pc.list_entries(root) == []
    again, compiled = pc.cached_build(root, _project(pc.staging_folder(root)), _compile)
    assert compiled and again == entry and pc.list_entries(root)[0].key == entry.name


@pytest.mark.codegen_independent
def test_cache_root_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BRIAN_EP_CACHE", str(tmp_path / "c"))
    assert pc.cache_root() == tmp_path / "c"
    monkeypatch.setenv("BRIAN_EP_CACHE", "off")
    assert pc.cache_root() is None
    monkeypatch.delenv("BRIAN_EP_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert pc.cache_root() == tmp_path / "xdg" / "brian_ep" / "programs"


def _slow_compile(folder: Path) -> None:
    with open(folder.parent.parent / "compiles.log", "a") as log:
        log.write(f"{folder.name}\n")
    time.sleep(1.0)  # long enough for the other process to ask for the same key meanwhile
    _compile(folder)


def _request(root: str) -> None:
    root = Path(root)
    pc.cached_build(root, _project(pc.staging_folder(root)), _slow_compile)


@pytest.mark.codegen_independent
def test_two_processes_asking_for_one_key_compile_once(tmp_path):
    root = tmp_path / "cache"
    root.mkdir()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_request, args=(str(root),)) for _ in range(2)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(60)
    assert [p.exitcode for p in processes] == [0, 0]
    assert len((tmp_path / "compiles.log").read_text().splitlines()) == 1
    (entry,) = pc.list_entries(root)
    assert (entry.path / "main").is_file()
    assert [p.name for p in root.iterdir() if p.name.startswith(".build-")] == []


@pytest.mark.compiles
def test_second_train_with_another_seed_compiles_nothing(tmp_path, monkeypatch):
    """Seed 2 fills an empty cache (it compiles: the reference); then, with every compile path
    failing the test, seed 1 and seed 2 again, each into a new run directory, must run from the
    cache; seed 2 gives exactly the reference weights, seed 1 others (the seed is not compiled
    in). Two compiles (training and prediction programs) instead of four: the reference used
    to be a run with the cache off, whose code is the same."""
    monkeypatch.setenv("BRIAN_EP_CACHE", str(tmp_path / "cache"))
    assert main(["train", DIGITS, *TINY, "--seed", "2", "--out", str(tmp_path / "compiled2")]) == 0
    kinds = sorted(e.stamp["kind"] for e in pc.list_entries(tmp_path / "cache"))
    assert kinds == ["predict", "train"]

    def no_compiler(*args, **kwargs):
        raise AssertionError("the compiler was started for a cached program")

    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    import brian_ep.brian.program as program

    monkeypatch.setattr(program, "compile_program", no_compiler)
    monkeypatch.setattr(CPPStandaloneDevice, "compile_source", no_compiler)
    for run in ("cached1", "cached2"):
        assert main(["train", DIGITS, *TINY, "--seed", run[-1], "--out", str(tmp_path / run)]) == 0
        assert (tmp_path / run / "standalone" / "train" / "main").is_file()
    assert sorted(e.stamp["kind"] for e in pc.list_entries(tmp_path / "cache")) == kinds
    arch = build_architecture(load_spec(tmp_path / "cached2" / "spec.yaml"))
    got, want, other = (load_weights(tmp_path / d / "weights.npz", arch) for d in ("cached2", "compiled2", "cached1"))
    for name in want.W:
        np.testing.assert_array_equal(got.W[name], want.W[name])
        assert not np.array_equal(other.W[name], want.W[name])  # the seed is not compiled in
    for name in want.b:
        np.testing.assert_array_equal(got.b[name], want.b[name])


class _FakeClock:
    def __init__(self, name):
        self.name = name
        self.variables = {"t": f"{name}.t", "timestep": f"{name}.timestep"}


class _FakeDevice:
    """What :func:`_clock_settings_by_name` reads of a standalone device."""

    def __init__(self, clocks, queue):
        self.clocks, self.main_queue = set(clocks), list(queue)

    @staticmethod
    def get_array_name(var, access_data=True):
        return f"_array_{var.replace('.', '_')}"


@pytest.mark.codegen_independent
def test_clock_resets_are_written_in_name_order():
    """Brian2 resets a network's clocks in set order (object addresses); the program writes
    them in name order, so one network gives one ``main.cpp`` (and one cache key)."""
    from brian_ep.brian.program import _clock_settings_by_name

    def reset(clock):
        return [("set_by_single_value", (f"_array_{clock}_timestep", 0, "0")), ("set_by_single_value", (f"_array_{clock}_t", 0, "0.0"))]

    other = [("run_code_object", ("x",)), ("set_by_single_value", ("_array_group_v", 0, "1"))]
    device = _FakeDevice([_FakeClock("b"), _FakeClock("a")], other[:1] + reset("b") + reset("a") + other[1:] + reset("b"))
    _clock_settings_by_name(device)
    assert device.main_queue == other[:1] + reset("a") + reset("b") + other[1:] + reset("b")


@pytest.mark.codegen_independent
def test_cache_command_lists_and_clears(tmp_path, monkeypatch, capsys):
    root = tmp_path / "cache"
    monkeypatch.setenv("BRIAN_EP_CACHE", str(root))
    entry, _ = pc.cached_build(root, _project(pc.staging_folder(root)), _compile, {"kind": "train", "spec": "digits"})
    assert main(["cache", "list"]) == 0
    out = capsys.readouterr().out
    assert f"1 compiled program(s) in {root}" in out and entry.name in out and "digits" in out
    assert main(["cache", "clear"]) == 0
    assert "removed 1 program(s)" in capsys.readouterr().out and not entry.exists()
    monkeypatch.setenv("BRIAN_EP_CACHE", "off")
    assert main(["cache", "list"]) == 0 and "off" in capsys.readouterr().out
