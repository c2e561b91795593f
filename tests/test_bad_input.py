"""Bad input never starts a run: one line on stderr, exit code 2, and nothing written (no run folder,
no profile, no screenshot).

The flag and config-key tables are generated from the parser and the schema (tests/bad_input.py),
so a new flag or key is covered as soon as it exists; the combinations below are the ones that
are valid one by one but cannot work together.
"""
from __future__ import annotations

import pytest
import torch

import app
from tests.bad_input import config_key_cases, environment_option_cases, flag_cases

#: config keys a flag of run_refused would override
FLAG_OF_KEY = {"run.out": "--out", "run.profile": "--profile", "run.frames": "--frames"}


def run_refused(argv, tmp_path, capsys, leave=()):
    """Run app.main in tmp_path; assert a one-line exit-2 error and that nothing new was written.

    Adds --out run and --profile p.json (outputs that must not appear) and --frames 3 (a case that
    slipped through would end at once), unless the case sets them or names them in `leave`."""
    argv = list(argv)
    if "--out" not in argv and "--out" not in leave:
        argv += ["--out", "run"]
    if "--profile" not in argv and "--no-profiler" not in argv and "--profile" not in leave:
        argv += ["--profile", "p.json"]
    if not any(f in argv for f in ("--offscreen", "--screenshot")) and "--headless" not in argv:
        argv.append("--headless")
    if not any(f in argv or f in leave for f in ("--frames", "--episodes")):
        argv += ["--frames", "3"]
    before = set(tmp_path.iterdir())
    code = app.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert err.count("\n") == 1 and err.startswith("app.py: error: "), err
    assert "Traceback" not in err and out == "", (out, err)
    written = set(tmp_path.iterdir()) - before
    assert not written, f"{argv} wrote {sorted(p.name for p in written)}"
    return err


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _failures(cases, check) -> list[str]:
    """Run every case (one test, hundreds of cases: no per-case fixture cost); collect what failed."""
    failed = []
    for case_id, *data in cases:
        try:
            check(*data)
        except AssertionError as exc:
            failed.append(f"{case_id}: {str(exc).splitlines()[0][:300]}")
    return failed


def test_every_flag_refuses_bad_values(in_tmp, capsys):
    def check(argv, fragment):
        err = run_refused(argv, in_tmp, capsys)
        assert fragment in err, err

    cases = flag_cases()
    assert len(cases) > 50
    assert _failures(cases, check) == []


def test_every_config_key_refuses_bad_values(in_tmp, capsys):
    def check(text, fragment):
        (in_tmp / "bad.toml").write_text(text)
        err = run_refused(["--config", "bad.toml"], in_tmp, capsys, leave=[FLAG_OF_KEY.get(fragment)])
        assert fragment in err and "bad.toml" in err, err

    cases = config_key_cases()
    assert len(cases) > 300
    assert _failures(cases, check) == []


def test_every_environment_option_refuses_bad_values(in_tmp, capsys):
    def check(text, fragment):
        (in_tmp / "bad.toml").write_text(text)
        err = run_refused(["--config", "bad.toml"], in_tmp, capsys)
        assert fragment in err and "bad.toml" in err, err

    cases = environment_option_cases()
    assert {c[0].split(".")[0] for c in cases} == {"point_mass", "differential_drive", "pendulum"}
    assert _failures(cases, check) == []


def _checkpoint(path, system="point_mass"):
    from config import build_config
    from rl.checkpoint import save_checkpoint
    from runtime.build import build_world

    world = build_world(build_config(overrides={"visual": {"agents": 0}, "env": {"system": system}}))
    save_checkpoint(world, path)
    world.shutdown()


def _files(tmp):
    (tmp / "taken").write_text("x")
    (tmp / "adir").mkdir()
    (tmp / "shot.png").mkdir()
    (tmp / "corrupt.pt").write_bytes(b"PK\x03\x04 not really a zip")
    torch.save({"weights": torch.zeros(2)}, tmp / "foreign.pt")
    (tmp / "latin1.toml").write_bytes("[run]\nout = 'caf\xe9'\n".encode("latin-1"))
    (tmp / "huge.toml").write_text("[visual]\ntrail_max_length = 100000\n")
    (tmp / "notable.toml").write_text("env = 3\n")
    (tmp / "plugins.toml").write_text("plugins = 3\n")
    (tmp / "unknown.toml").write_text("[visual]\ngridsize = 21\n")
    (tmp / "section.toml").write_text("[physics]\ng = 9.8\n")
    (tmp / "malformed.toml").write_text("[visual\nagents = 3\n")
    (tmp / "preset.toml").write_text("preset = 'ultra'\n")
    (tmp / "listpreset.toml").write_text("preset = ['low']\n")
    (tmp / "tpreset.toml").write_text("train_preset = 'forever'\n")
    (tmp / "batch.toml").write_text("[td3]\nbatch_size = 500\nbuffer_size = 100\n")
    (tmp / "reset.toml").write_text("[env]\nreset_range = 6.0\n")
    (tmp / "kappa.toml").write_text("[calf]\nkappa_low_coeff = 10.0\nkappa_up_coeff = 1.0\n")
    (tmp / "warm.toml").write_text("[run]\nframes = 100\n[profiler]\nwarmup_frames = 100\n")
    (tmp / "noprof.toml").write_text("[run]\nprofile = 'q.json'\n[profiler]\nenabled = false\n")
    (tmp / "anchor.toml").write_text(
        "[[plugins]]\nsystem = 'examples.lyapunov_monitor:LyapunovMonitor'\nafter = 'NoSuchSystem'\n")


#: combinations and files that are each well-formed but unusable: (argv, fragment of the error)
COMBINATIONS = [
    (["--headless", "--offscreen"], "--headless and --offscreen exclude each other"),
    (["--headless", "--screenshot", "s.png"], "--screenshot needs a rendered run"),
    (["--offscreen", "--screenshot", "s.jpg"], "must end in .png"),
    (["--offscreen", "--screenshot", "missing/s.png"], "--screenshot: directory missing does not exist"),
    (["--offscreen", "--screenshot", "shot.png"], "--screenshot: shot.png is a directory"),
    (["--offscreen", "--screenshot", "/proc/calf-ecs.png"], "--screenshot: cannot write in /proc"),
    (["--profile", "missing/p.json"], "--profile: directory missing does not exist"),
    (["--profile", "adir"], "--profile: adir is a directory"),
    (["--profile", "/proc/calf-ecs.json"], "--profile: cannot write in /proc"),
    (["--out", "adir", "--profile", "adir/checkpoint.pt"],
     "--profile adir/checkpoint.pt would overwrite the run's checkpoint.pt"),
    (["--profile", "run"], "would overwrite the run's --out folder"),
    (["--offscreen", "--profile", "s.png", "--screenshot", "s.png"], "--screenshot s.png would overwrite --profile"),
    (["--profile", "p.json", "--no-profiler"], "--profile with --no-profiler"),
    (["--frames", "10", "--warmup", "10"], "profiler.warmup_frames (10) must be smaller than run.frames (10)"),
    (["--episodes", "5", "--frames", "100"], "--episodes 5 and --frames 100 exclude each other"),
    (["--verbose"], "--verbose only applies with --list-systems"),
    (["--out", "taken"], "--out: taken exists and is not a directory"),
    (["--out", "taken/run"], "--out: cannot create taken/run: taken is not a directory"),
    (["--out", "/proc/calf-ecs-run"], "--out: cannot create /proc/calf-ecs-run"),
    (["--resume", "missing.pt"], "checkpoint missing.pt: not found"),
    (["--resume", "adir"], "checkpoint adir: is a directory"),
    (["--resume", "corrupt.pt"], "checkpoint corrupt.pt: truncated or corrupted"),
    (["--resume", "foreign.pt"], "checkpoint foreign.pt: not a calf-ecs checkpoint"),
    (["--resume", "dd.pt"], "checkpoint dd.pt: made for environment differential_drive, this run is point_mass"),
    (["--resume", "pm.pt", "--system", "differential_drive"], "made for environment point_mass"),
    (["--plugin", "examples.lyapunov_monitor:LyapunovMonitor:after=NoSuchSystem"], "NoSuchSystem"),
    (["--config", "anchor.toml"], "NoSuchSystem"),
    (["--offscreen", "--agents", "100000", "--config", "huge.toml"], "of memory available"),
    (["--config", "missing.toml"], "config file missing.toml: not found"),
    (["--config", "adir"], "config file adir: is a directory"),
    (["--config", "latin1.toml"], "not UTF-8 text"),
    (["--config", "malformed.toml"], "malformed TOML"),
    (["--config", "unknown.toml"], "unknown key 'visual.gridsize' (did you mean 'grid_size'?)"),
    (["--config", "section.toml"], "unknown section or key 'physics'"),
    (["--config", "notable.toml"], "[env] must be a table of settings"),
    (["--config", "plugins.toml"], "plugins must be a list"),
    (["--config", "preset.toml"], "unknown preset 'ultra'"),
    (["--config", "listpreset.toml"], "unknown preset ['low']"),
    (["--config", "tpreset.toml"], "unknown training preset 'forever'"),
    (["--config", "batch.toml"], "batch_size (500) must not exceed buffer_size (100)"),
    (["--config", "reset.toml"], "reset_range (6.0) must be smaller than boundary_limit (5.0)"),
    (["--config", "kappa.toml"], "kappa_low_coeff (10.0) must not exceed kappa_up_coeff (1.0)"),
    (["--config", "warm.toml", "--frames", "100"], "warmup_frames (100) must be smaller than run.frames (100)"),
    (["--config", "noprof.toml", "--no-profiler"], "the profile would time nothing"),
]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    _checkpoint(d / "pm.pt")
    _checkpoint(d / "dd.pt", "differential_drive")
    return d


@pytest.mark.parametrize("argv,fragment", COMBINATIONS, ids=[" ".join(a) for a, _ in COMBINATIONS])
def test_unusable_combinations_are_refused_before_anything_runs(argv, fragment, in_tmp, capsys, checkpoints):
    import shutil

    _files(in_tmp)
    for name in ("pm.pt", "dd.pt"):
        shutil.copy(checkpoints / name, in_tmp / name)
    err = run_refused(argv, in_tmp, capsys)
    assert fragment in err, err


def test_the_tables_cover_every_flag_and_key():
    """The generated tables reach every flag that takes a value and every key of every section."""
    import attrs

    from cli.arguments import build_parser
    from config.schema import SECTIONS

    flags = {a[1][0] for a in flag_cases()}
    takes_value = {max(a.option_strings, key=len) for a in build_parser()._actions if a.option_strings and a.nargs != 0}
    assert flags == takes_value - {"--help"}
    keys = {c[0].split("=")[0] for c in config_key_cases()}
    assert keys == {f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in attrs.fields(cls)}
