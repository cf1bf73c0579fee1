"""Hostile and malformed scenario files: each is refused by ``run.py --check`` with exit 2 and one message
naming the file, no traceback and nothing written, within a time limit; and the strict schema refuses NaN,
infinity, true-for-a-number and values beyond the bounds, at every entry point."""

from __future__ import annotations

import math
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import simulation
from simulation.cli import main
from simulation.config import ScenarioError, load_scenario, with_changes
from simulation.config.loader import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 5  # per file: the loader must answer fast whatever it is given


class Timeout(Exception):
    pass


def check(path: Path, capsys, tmp_path: Path) -> str:
    """``run.py PATH --check`` under a time limit: exit 2, one line on stderr, no traceback, nothing written."""

    def alarm(*_):
        raise Timeout(f"{path} took more than {SECONDS} s")

    before = set(tmp_path.rglob("*"))
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(SECONDS)
    try:
        code = main([str(path), "--check", "--out", str(tmp_path / "out")])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("error: ") and str(path.name) in err, err
    assert set(tmp_path.rglob("*")) == before  # nothing written
    return err


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


BILLION_LAUGHS = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9)
    )
    + "name: bomb\nextends: baseline\n"
)
DICT_BOMB = (
    "a: &a {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1}\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} {{" + ", ".join(f"k{j}: *{chr(97 + i)}" for j in range(9)) + "}\n"
        for i in range(9)
    )
    + "name: bomb\n"
)

CASES = {
    "binary": b"\x00\x01\x02\xff\xfe" * 100,
    "latin1": "name: caf\xe9\n".encode("latin-1"),
    "deep": "a: " + "[" * 500 + "]" * 500 + "\n",
    "deep_maps": "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "v: 1\n",
    "laughs": BILLION_LAUGHS,
    "dict_bomb": DICT_BOMB,
    "list_top": "- 1\n- 2\n",
    "empty": "",
    "syntax": "name: [unclosed\n",
    "recursive": "a: &a [*a]\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_files_are_refused(case, tmp_path, capsys):
    check(write(tmp_path, f"{case}.yaml", CASES[case]), capsys, tmp_path)


def test_a_file_too_large_is_refused_without_reading_it(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES * 50)  # sparse: 50 MB of nothing
    assert "too large" in check(path, capsys, tmp_path)


@pytest.mark.parametrize(
    "target",
    [
        "/dev/zero",
        "/etc/shadow",
        "/etc/passwd",
        "../outside.yaml",
        "sub/../../outside.yaml",
        "fifo.yaml",
        "nowhere",
    ],
)
def test_extends_is_confined(target, tmp_path, capsys):
    folder = tmp_path / "scen"
    folder.mkdir()
    (tmp_path / "outside.yaml").write_text("name: outside\n")
    os.mkfifo(folder / "fifo.yaml")
    path = folder / "child.yaml"
    path.write_text(yaml.safe_dump({"extends": target, "name": "child"}))
    err = check(path, capsys, tmp_path)
    assert "extends" in err


def test_extends_a_symlink_out_of_the_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "scen"
    folder.mkdir()
    (tmp_path / "secret.yaml").write_text("name: secret\n")
    (folder / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    path = folder / "child.yaml"
    path.write_text("extends: link.yaml\nname: child\n")
    assert "outside" in check(path, capsys, tmp_path)


def test_extends_a_shipped_name_works_from_anywhere(tmp_path):
    path = tmp_path / "deep" / "er"
    path.mkdir(parents=True)
    (path / "x.yaml").write_text("extends: baseline\nname: x\nmonths: 6\n")
    (path / "y.yaml").write_text("extends: ban.yaml\nname: y\n")
    (path / "sub").mkdir()
    (path / "sub" / "base.yaml").write_text("extends: baseline\nname: base\nmonths: 7\n")
    (path / "z.yaml").write_text("extends: sub/base.yaml\nname: z\n")
    assert load_scenario(path / "x.yaml").months == 6
    assert load_scenario(path / "y.yaml").policy.ban.jurisdiction == "us"
    assert load_scenario(path / "z.yaml").months == 7


def test_a_scenario_that_is_a_fifo_or_device_is_refused(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.yaml")
    assert "not a regular file" in check(tmp_path / "pipe.yaml", capsys, tmp_path)


def test_the_loader_stays_small_on_a_bomb(tmp_path):
    """The alias bomb is refused before anything walks it: no time and no memory spent."""
    path = write(tmp_path, "bomb.yaml", DICT_BOMB)
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30));"
        "from simulation.config import load_scenario, ScenarioError\n"
        f"try:\n    load_scenario({str(path)!r})\nexcept ScenarioError as e:\n    print(e.problem)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert "aliases are expanded" in out.stdout, out.stderr[-2000:]


# -- strict schema -----------------------------------------------------------------------------------------


def base_file(tmp_path: Path, body: dict) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"extends": "baseline", "name": "s", **body}, allow_unicode=True))
    return path


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"world": {"distillation_efficacy": float("nan")}}, "world.distillation_efficacy"),
        ({"world": {"market_mtok_per_month": float("inf")}}, "world.market_mtok_per_month"),
        ({"labs": {"openai": {"initial_cash_usd": float("inf")}}}, "labs.openai.initial_cash_usd"),
        ({"labs": {"openai": {"price_usd_per_mtok": float("nan")}}}, "labs.openai.price_usd_per_mtok"),
        ({"adopters": {"regions": {"us": {"trust_by_bloc": {"china": float("nan")}}}}}, "trust_by_bloc"),
        ({"adopters": {"segments": {"sovereign": {"need_eci": float("-inf")}}}}, "need_eci"),
        ({"months": True}, "months"),
        ({"replicates": 2.5}, "replicates"),
        ({"world": {"run_months": True}}, "world.run_months"),
        ({"adopters": {"segments": {"local_agents": {"open_only": 1}}}}, "open_only"),
        ({"start": "0000-01"}, "start"),
        ({"start": "9999-12"}, "start"),
        ({"name": "x" * 300}, "name"),
        ({"name": "../../etc/x"}, "name"),
        ({"labs": {"openai": {"initial_capability_eci": 1e9}}}, "initial_capability_eci"),
        ({"events": [{"at": "2026-01", "set": {"world.distillation_efficacy": float("nan")}}]}, "events"),
        ({"events": [{"at": "2026-01", "set": {"labs.openai.price_usd_per_mtok": float("inf")}}]}, "events"),
        (
            {"world": {"distillation_efficacy": {"dist": "uniform", "low": 0.0, "high": 4.0}}},
            "distillation_efficacy",
        ),
        (
            {"world": {"distillation_efficacy": {"dist": "normal", "mean": 0.1, "sd": 0.02}}},
            "distillation_efficacy",
        ),
        ({"labs": {"qwen": {"release_cadence_months": {"dist": "uniform", "low": 2, "high": 6}}}}, "cadence"),
        ({"policy": {"ban": {"active": {"dist": "uniform", "low": 0, "high": 1}}}}, "active"),
        ({"uncertain": {"world.run_months": {"dist": "choice", "values": [4, -1]}}}, "run_months"),
        (
            {"uncertain": {"world.run_months": {"dist": "uniform", "low": 1, "high": float("nan")}}},
            "run_months",
        ),
    ],
)
def test_strict_schema(tmp_path, capsys, body, key):
    err = check(base_file(tmp_path, body), capsys, tmp_path)
    assert key in err


def test_overrides_are_as_strict(tmp_path):
    for change in (
        {"world.distillation_efficacy": math.nan},
        {"world.distillation_efficacy": 4},
        {"months": True},
        {"adopters.n": 10.5},
        {"labs.openai.initial_cash_usd": math.inf},
    ):
        with pytest.raises(ScenarioError):
            simulation.run("tiny", replicates=1, overrides=change)


def test_cli_options_are_bounded_like_files(capsys):
    for option in (
        ["--replicates", "1000000"],
        ["--seed", str(2**70)],
        ["--months", "601"],
        ["--adopters", "10000001"],
    ):
        assert main(["tiny", "--check", *option]) == 2
        err = capsys.readouterr().err
        assert option[0] in err and "Traceback" not in err


def test_integral_floats_are_whole_numbers():
    """Sweeps and levers hand over 4.0 for a whole number; that is accepted, 4.5 is not."""
    sc = load_scenario("tiny")
    assert with_changes(sc, {"months": 6.0}).months == 6
    with pytest.raises(ScenarioError):
        with_changes(sc, {"months": 6.5})


def test_scenario_errors_survive_pickling():
    """A worker process's error reaches the user with its message (not a BrokenProcessPool)."""
    err = ScenarioError("f.yaml", "world.x", "bad value")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, ScenarioError) and str(back) == str(err) and back.key_path == "world.x"


def fail_in_worker(spec):
    raise ScenarioError("drawn", "world.x", f"replicate {spec.replicate} failed")


def test_a_worker_error_reaches_the_user(monkeypatch):
    """An error raised inside a worker process comes back as itself, message intact."""
    import simulation.experiments.runner as runner

    monkeypatch.setattr(runner, "run_replicate", fail_in_worker)
    with pytest.raises(ScenarioError, match="replicate [01] failed"):
        runner.simulate("tiny", replicates=2, jobs=2)


def test_truncated_distributions_draw_inside_their_range():
    from simulation.config.distributions import LogNormal, Normal

    rng = np.random.default_rng(3)
    normal = Normal(dist="normal", mean=0.1, sd=0.1, low=0.0, high=0.15)
    draws = np.array([normal.draw(rng) for _ in range(5000)])
    assert draws.min() >= 0.0 and draws.max() <= 0.15
    # truncated normal on [-1 sd, +0.5 sd]: mean = mu + sd * (phi(-1) - phi(0.5)) / (Phi(0.5) - Phi(-1))
    expected = 0.1 + 0.1 * (0.24197 - 0.35207) / (0.69146 - 0.15866)
    assert draws.mean() == pytest.approx(expected, abs=0.002)
    logn = LogNormal(dist="lognormal", p10=120, p90=1200, high=4000)
    d = np.array([logn.draw(rng) for _ in range(5000)])
    assert d.max() <= 4000 and np.mean(d < 120) == pytest.approx(
        0.10 / 0.99563, abs=0.015
    )  # P(X <= 4000) = Phi(2.6217)
    with pytest.raises(ValueError):
        Normal(dist="normal", mean=0, sd=1, low=50, high=60)  # no probability left
