"""``train.py --use``: the path line says the learner's layers were verified; ``--no-layer-check`` is said on the
first line, and refused without ``--use``."""

from .test_train_use import run, use


def test_the_check_is_said_and_skipping_it_is_the_first_line(tmp_path, capsys):
    code, out, err = run(capsys, *use(tmp_path), "--epochs", "1", "--save", tmp_path / "m.npz")
    assert code == 0 and "verified on one batch before training" in out, err
    code, out, err = run(capsys, *use(tmp_path), "--epochs", "1", "--no-layer-check", "--save", tmp_path / "m.npz")
    assert code == 0 and "--no-layer-check" in out.splitlines()[0] and "unverified" in out, err
    code, _, err = run(capsys, "--no-layer-check", "--save", tmp_path / "m.npz")
    assert code == 2 and "--no-layer-check" in err and "--use" in err
