"""Outputs: ``app.outputs.check_outputs`` refuses harmful paths before any work, and
``model.atomic.atomic_write`` writes without harm (atomically, through symlinks, keeping modes)."""

import errno
import os
import re
import stat
import tempfile
from pathlib import Path

import pytest

from app.cli import UsageError
from app.outputs import check_outputs
from model.atomic import atomic_write, current_umask

TMP_NAME = re.compile(r"^\.m\.npz\.handprop-tmp-[A-Za-z0-9_]{6,}$")


@pytest.fixture
def umask():
    """Set the umask for one test and put the old one back."""
    old = os.umask(0o022)
    yield lambda value: os.umask(value)
    os.umask(old)


def _listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _refused(outputs, inputs=(), match=None):
    with pytest.raises(UsageError, match=match) as info:
        check_outputs(outputs, inputs)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---- check_outputs: the same file twice ----

@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink", "hardlink"])
def test_an_output_that_is_an_input_is_refused(tmp_path, spelling):
    data = tmp_path / "d.csv"
    data.write_text("1,2,0\n")
    other = {"same": data, "dotted": tmp_path / "." / "d.csv", "symlink": tmp_path / "link.npz",
             "hardlink": tmp_path / "hard.npz"}[spelling]
    if spelling == "symlink":
        other.symlink_to(data)
    if spelling == "hardlink":
        os.link(data, other)
    message = _refused([("--save", str(other), None)], [("--data", str(data))], match="same file")
    assert message.startswith(f"--save {other} ") and f"--data {data}" in message and "input" in message
    assert data.read_text() == "1,2,0\n"


def test_an_output_that_is_the_model_being_evaluated_is_refused(tmp_path):
    model = tmp_path / "m.npz"
    model.write_bytes(b"PK")
    _refused([("--history", str(model), None)], [("--evaluate", str(model)), ("--data", None)],
             match="--evaluate")


@pytest.mark.parametrize("link", [False, True])
def test_two_outputs_on_one_file_are_refused(tmp_path, link):
    first = tmp_path / "m.npz"
    second = first
    if link:  # both exist as two names of one inode
        first.write_bytes(b"old")
        second = tmp_path / "other.npz"
        os.link(first, second)
    message = _refused([("--save", str(first), (".npz",)), ("--history", str(second), None)],
                       match="same file")
    assert message.startswith(f"--history {second} ") and f"--save {first}" in message
    assert "another output" in message


def test_a_wrong_extension_decides_before_a_collision(tmp_path):
    path = str(tmp_path / "m.npz")
    _refused([("--save", path, (".npz",)), ("--plot", path, (".png",))], match=r"--plot .*must end in \.png")


# ---- check_outputs: what the target is ----

def test_a_fifo_is_refused_and_left_alone(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    _refused([("--save", str(fifo), (".npz",))], match="is a FIFO, not a regular file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_symlink_to_a_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "m.npz").symlink_to(tmp_path / "pipe")
    _refused([("--save", str(tmp_path / "m.npz"), (".npz",))], match="FIFO")


def test_a_directory_is_refused(tmp_path):
    (tmp_path / "m.npz").mkdir()
    _refused([("--save", str(tmp_path / "m.npz"), (".npz",))], match="is a directory, not a regular file")
    _refused([("--save", str(tmp_path) + "/", None)], match="needs a file name")


def test_a_symlink_loop_is_refused(tmp_path):
    (tmp_path / "m.npz").symlink_to(tmp_path / "m.npz")
    _refused([("--save", str(tmp_path / "m.npz"), (".npz",))], match="cannot be written: Too many levels")


def test_symlinks_to_regular_or_missing_files_are_accepted(tmp_path):
    (tmp_path / "real.npz").write_bytes(b"old")
    (tmp_path / "m.npz").symlink_to(tmp_path / "real.npz")
    (tmp_path / "h.csv").symlink_to(tmp_path / "not-yet.csv")
    got = check_outputs([("--save", str(tmp_path / "m.npz"), (".npz",)),
                         ("--history", str(tmp_path / "h.csv"), (".csv", ".json"))])
    assert got == {"--save": tmp_path / "m.npz", "--history": tmp_path / "h.csv"}


# ---- check_outputs: where it goes ----

@pytest.mark.parametrize("below", ["x.npz", "sub/deeper/x.npz"])
def test_a_parent_that_is_a_file_is_refused(tmp_path, below):
    (tmp_path / "f").write_text("a file")
    path = str(tmp_path / "f" / below)
    message = _refused([("--save", path, (".npz",))], match="is a file, not a directory")
    assert message.startswith(f"--save {path}")


@pytest.mark.parametrize("error", [PermissionError(errno.EACCES, "Permission denied"),
                                   OSError(errno.EROFS, "Read-only file system")])
def test_a_directory_that_takes_no_file_is_refused(tmp_path, monkeypatch, error):
    # root may write anywhere by its mode bits, so the refusal of the probe file is simulated here
    def refuse(dir):
        raise error

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    message = _refused([("--plot", str(tmp_path / "new" / "p.png"), (".png",))])
    assert message.startswith(f"--plot {tmp_path / 'new' / 'p.png'}:") and str(tmp_path) in message
    assert f"{tmp_path} ({error.strerror})" in message  # the nearest existing directory, and why


def test_a_wrong_extension_says_what_is_allowed(tmp_path):
    _refused([("--history", str(tmp_path / "h.txt"), (".csv", ".json"))], match=r"must end in \.csv or \.json")
    _refused([("--plot", str(tmp_path / "x.pdf"), (".png",))], match=r"--plot .*x\.pdf.*\.png")


def test_checking_creates_nothing_and_returns_the_users_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("1,2,0\n")
    before = _listing(tmp_path)
    got = check_outputs([("--save", "runs/new/model.npz", (".npz",)), ("--plot", None, (".png",)),
                         ("--history", "h.json", (".csv", ".json"))], [("--data", "d.csv"), ("--evaluate", None)])
    assert got == {"--save": Path("runs/new/model.npz"), "--plot": None, "--history": Path("h.json")}
    assert _listing(tmp_path) == before


# ---- atomic_write ----

def test_writes_through_a_symlink_and_keeps_the_link(tmp_path):
    target = tmp_path / "real" / "m.npz"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "m.npz"
    link.symlink_to(target)
    assert atomic_write(link, lambda fh: fh.write(b"new")) == link
    assert link.is_symlink() and os.readlink(link) == str(target) and target.read_bytes() == b"new"
    assert _listing(tmp_path) == ["m.npz", "real", "real/m.npz"]


def test_a_dangling_symlink_gets_its_target_created(tmp_path):
    link = tmp_path / "m.npz"
    link.symlink_to(tmp_path / "made" / "here.npz")
    atomic_write(link, lambda fh: fh.write(b"new"))
    assert link.is_symlink() and (tmp_path / "made" / "here.npz").read_bytes() == b"new"


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_follows_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    assert current_umask() == mask
    path = atomic_write(tmp_path / "m.npz", lambda fh: fh.write(b"x"))
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


def test_reading_the_umask_leaves_it_as_it_was(umask):
    umask(0o027)
    assert current_umask() == 0o027 and os.umask(0o027) == 0o027


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o755])
def test_replacing_keeps_the_mode(tmp_path, umask, mode):
    umask(0o022)
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    os.chmod(path, mode)
    atomic_write(path, lambda fh: fh.write(b"new"))
    assert stat.S_IMODE(os.stat(path).st_mode) == mode and path.read_bytes() == b"new"


def test_the_temporary_file_is_beside_the_target_and_recognisable(tmp_path):
    seen = []
    atomic_write(tmp_path / "m.npz", lambda fh: seen.extend(p.name for p in tmp_path.iterdir()))
    assert len(seen) == 1 and TMP_NAME.match(seen[0]), seen


@pytest.mark.parametrize("exc", [ValueError("bad content"), KeyboardInterrupt(), OSError("disk full")])
@pytest.mark.parametrize("existing", [True, False])
def test_a_failing_write_leaves_the_target_and_no_temporary_file(tmp_path, exc, existing):
    path = tmp_path / "m.npz"
    if existing:
        path.write_bytes(b"old")

    def write(fh):
        fh.write(b"half")
        raise exc

    with pytest.raises(type(exc)) as info:
        atomic_write(path, write)
    assert info.value is exc  # passed through unchanged
    assert _listing(tmp_path) == (["m.npz"] if existing else [])
    if existing:
        assert path.read_bytes() == b"old"


def test_an_unwritable_directory_is_reported_with_the_users_path(tmp_path, monkeypatch):
    # as root a chmod'ed directory is still writable, so mkstemp fails as the OS would for a user
    def denied(prefix, suffix, dir):
        raise PermissionError(13, "Permission denied", os.path.join(dir, prefix + "abc123" + suffix))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError) as info:
        atomic_write(tmp_path / "x.png", lambda fh: fh.write(b"x"), suffix=".png")
    assert info.value.filename == str(tmp_path / "x.png") and "handprop-tmp" not in str(info.value)


def test_a_failed_rename_is_reported_with_the_users_path_and_cleaned_up(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src, dst)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as info:
        atomic_write(tmp_path / "m.npz", lambda fh: fh.write(b"x"))
    assert info.value.filename == str(tmp_path / "m.npz") and info.value.filename2 is None
    assert _listing(tmp_path) == []


def test_a_parent_that_is_a_file_is_reported_with_the_users_path(tmp_path):
    (tmp_path / "f").write_text("a file")
    user = tmp_path / "f" / "sub" / "m.npz"
    with pytest.raises(NotADirectoryError) as info:
        atomic_write(user, lambda fh: fh.write(b"x"))
    assert info.value.filename == str(user) and (tmp_path / "f").read_text() == "a file"


def test_an_error_about_another_file_passes_through(tmp_path):
    def write(fh):
        raise FileNotFoundError(2, "No such file or directory", "elsewhere.txt")

    with pytest.raises(FileNotFoundError) as info:
        atomic_write(tmp_path / "m.npz", write)
    assert info.value.filename == "elsewhere.txt"


def test_a_fifo_is_not_replaced(tmp_path):
    fifo = tmp_path / "m.npz"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file") as info:
        atomic_write(fifo, lambda fh: fh.write(b"x"))
    assert info.value.filename == str(fifo) and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert _listing(tmp_path) == ["m.npz"]


def test_a_symlink_loop_is_an_error_naming_the_users_path(tmp_path):
    loop = tmp_path / "m.npz"
    loop.symlink_to(loop)
    with pytest.raises(OSError) as info:
        atomic_write(loop, lambda fh: fh.write(b"x"))
    assert info.value.filename == str(loop) and loop.is_symlink()


def test_a_directory_that_looks_writable_but_takes_no_files_is_refused_before_work():
    # Linux's /proc: writable by its mode bits for root, on no read-only file system, yet it takes no new file
    with pytest.raises(UsageError, match=r"--save /proc/m.npz: no file can be created in /proc"):
        check_outputs([("--save", "/proc/m.npz", (".npz",))])
