"""File-system faults (issue 27): a full disk (ENOSPC), a file too large (EFBIG) or a read-only
file system (EROFS) during train, resume, overwrite and analyze --out is one paragraph with
exit status 2 that names the path, what was kept and the fix, never "internal error"; and
nothing is lost: the last checkpoint still loads and the run resumes to the weights of an
uninterrupted one. The faults are injected at the write points (os.replace of the atomic
write, the run lock's open, unlink, savefig) in this process."""

from __future__ import annotations

import errno
import os
import pathlib
from pathlib import Path

import numpy as np
import pytest

from brian_ep import runlock
from brian_ep.cli import main
from brian_ep.rundir import RunDirectory

REPO = Path(__file__).resolve().parents[1]
DIGITS = str(REPO / "network_specs" / "digits.yaml")
# 60 samples in chunks of 20, two epochs: checkpoints at (epoch, sample) (0, 20), (0, 40), (1, 0), ...
NUMPY = ["--engine", "numpy", "--set", "model.hidden=[{size: 8}]", "--set", "data.n_train=60", "--set", "data.n_test=20",
         "--set", "run.chunk_size=20", "--set", "run.epochs=2", "--quiet"]


def fail_nth_replace(monkeypatch, name, n, code):
    """The n-th ``os.replace`` onto a file called ``name`` raises OSError(code)."""
    real = os.replace
    calls = {"n": 0}

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == name:
            calls["n"] += 1
            if calls["n"] == n:
                raise OSError(code, os.strerror(code), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def paragraph(err: str) -> str:
    text = err.strip()
    assert text.startswith("brian-ep: error: "), err
    assert "Traceback" not in err and "internal error" not in err and "This is a bug" not in err
    assert "\n\n" not in text
    return " ".join(text.split())


def snapshot(run: Path) -> dict:
    return {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("full") / "run"
    assert main(["train", DIGITS, *NUMPY, "--out", str(run)]) == 0
    return run


def test_disk_full_during_train_keeps_the_last_checkpoint_and_resumes(tmp_path, monkeypatch, capsys, uninterrupted):
    run = tmp_path / "run"
    fail_nth_replace(monkeypatch, "checkpoint.npz", 3, errno.ENOSPC)
    rc = main(["train", DIGITS, *NUMPY, "--out", str(run)])
    text = paragraph(capsys.readouterr().err)
    assert rc == 2
    assert f"cannot write '{run / 'checkpoint.npz'}': No space left on device (ENOSPC)" in text
    assert "to fix: free space on that disk" in text
    assert f"the last checkpoint (epoch 1, sample 40) is kept whole in '{run}'" in text
    assert "Once fixed, continue with: brian-ep train" in text and "--resume" in text
    assert not list(run.glob(".*.tmp"))
    position = RunDirectory(run).load_checkpoint().position
    assert (position["epoch"], position["sample"]) == (0, 40)
    monkeypatch.undo()
    assert main(["train", DIGITS, *NUMPY, "--out", str(run), "--resume"]) == 0
    done = np.load(run / "weights.npz")
    reference = np.load(uninterrupted / "weights.npz")
    assert all(np.array_equal(done[k], reference[k]) for k in reference.files)


def test_file_too_large_at_the_first_checkpoint(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    fail_nth_replace(monkeypatch, "checkpoint.npz", 1, errno.EFBIG)
    rc = main(["train", DIGITS, *NUMPY, "--out", str(run)])
    text = paragraph(capsys.readouterr().err)
    assert rc == 2
    assert "File too large (EFBIG)" in text and "ulimit -f" in text
    assert "no chunk had finished" in text and not (run / "checkpoint.npz").exists()


def test_disk_full_while_a_resumed_run_writes_its_history(tmp_path, monkeypatch, capsys, uninterrupted):
    run = tmp_path / "run"
    fail_nth_replace(monkeypatch, "checkpoint.npz", 3, errno.ENOSPC)
    assert main(["train", DIGITS, *NUMPY, "--out", str(run)]) == 2
    monkeypatch.undo()
    checkpoint = (run / "checkpoint.npz").read_bytes()
    capsys.readouterr()
    fail_nth_replace(monkeypatch, "history.json", 1, errno.ENOSPC)
    rc = main(["train", DIGITS, *NUMPY, "--out", str(run), "--resume"])
    text = paragraph(capsys.readouterr().err)
    assert rc == 2 and f"cannot write '{run / 'history.json'}'" in text and "(epoch 1, sample 40)" in text
    assert (run / "checkpoint.npz").read_bytes() == checkpoint


def test_read_only_run_directory_on_resume(tmp_path, monkeypatch, capsys, uninterrupted):
    run = tmp_path / "run"
    fail_nth_replace(monkeypatch, "checkpoint.npz", 2, errno.ENOSPC)
    assert main(["train", DIGITS, *NUMPY, "--out", str(run)]) == 2
    monkeypatch.undo()
    capsys.readouterr()
    before = snapshot(run)

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(runlock, "open", read_only, raising=False)
    rc = main(["train", DIGITS, *NUMPY, "--out", str(run), "--resume"])
    text = paragraph(capsys.readouterr().err)
    assert rc == 2
    assert f"cannot take the lock '{run / '.lock'}'" in text and "Read-only file system (EROFS)" in text
    assert "Nothing in" in text and "was changed" in text
    assert snapshot(run) == before


def test_read_only_run_directory_on_overwrite(tmp_path, monkeypatch, capsys, uninterrupted):
    run = tmp_path / "run"
    import shutil

    shutil.copytree(uninterrupted, run)
    before = snapshot(run)
    real_unlink = pathlib.Path.unlink

    def unlink(self, *args, **kwargs):
        if run in self.parents:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "unlink", unlink)
    rc = main(["train", DIGITS, *NUMPY, "--out", str(run), "--overwrite"])
    text = paragraph(capsys.readouterr().err)
    assert rc == 2 and "Read-only file system (EROFS)" in text and str(run) in text
    assert "Nothing was lost" in text
    monkeypatch.undo()
    assert snapshot(run) == before


def test_read_only_analyze_out(tmp_path, monkeypatch, capsys):
    from matplotlib.figure import Figure

    def savefig(self, path, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(Figure, "savefig", savefig)
    rc = main(["analyze", DIGITS, "--engine", "numpy", "--samples", "5", "--gammas", "1", "--max-steps", "20",
               "--out", str(tmp_path)])
    text = paragraph(capsys.readouterr().err)
    assert rc == 2
    assert f"cannot write the figure '{tmp_path / 'digits_residuals.png'}': Read-only file system (EROFS)" in text
    assert "nothing else was written" in text
