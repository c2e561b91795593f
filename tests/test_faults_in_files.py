"""Files and faults: every output is replaced atomically, write failures never end a run, a bad
checkpoint never half-loads, and signals stop the loop after a whole frame (in-process, real signals)."""
from __future__ import annotations

import errno
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

import app
from components.agent_table import AgentTable
from components.resources import Rngs
from components.training_stats import TrainingStats
from config import AppConfig, build_config
from ecs import System
from rl.calf_state import CalfState
from rl.checkpoint import CheckpointError, read_checkpoint, restore, save_checkpoint
from rl.replay import ReplayBuffer
from rl.td3 import TD3
from runfiles.calf_log import CalfLog
from runfiles.run_outputs import RunOutputs
from runtime.build import build_world
from safe_io.atomic import atomic_write_via_path, atomic_write_with

OVER = {"visual": {"agents": 2}, "env": {"max_steps_per_episode": 30}, "td3": {"start_training_step": 10,
        "batch_size": 8}, "training": {"plot_every": 1, "checkpoint_every": 1}, "run": {"seed": 5}}


def small_world(**sections):
    over = {k: dict(v) for k, v in OVER.items()}
    for k, v in sections.items():
        over.setdefault(k, {}).update(v)
    return build_world(build_config(overrides=over))


# -- atomic writes ---------------------------------------------------------------------------------
@pytest.fixture
def renames(monkeypatch):
    """Every os.replace call as (source, target)."""
    calls = []
    real = os.replace

    def spy(src, dst, *a, **kw):
        calls.append((Path(src), Path(dst)))
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", spy)
    return calls


def test_every_run_file_and_the_profile_arrive_by_rename_from_a_hidden_temp_file(tmp_path, renames):
    w = small_world()
    out = RunOutputs(w, tmp_path / "run")
    w.run(35)  # an episode ends: plot, summary, log and checkpoint are refreshed
    out.close()
    w.system("ProfilerSystem").write_json(tmp_path / "p.json")
    targets = {dst.name for _src, dst in renames}
    assert {"config.toml", "checkpoint.pt", "rewards.png", "run_summary.json", "calf_log.csv", "p.json"} <= targets
    for src, dst in renames:
        assert src.parent == dst.parent and src.name.startswith(".") and src != dst, (src, dst)
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".")]
    w.shutdown()


def test_a_screenshot_arrives_by_rename_too(tmp_path, renames):
    from render.screenshot import save_png

    class Win:
        def saveScreenshot(self, filename):  # noqa: N802 - Panda3D's name
            Path(filename.toOsSpecific()).write_bytes(b"\x89PNG fake")
            return True

    class Base:
        win = Win()

    save_png(Base(), tmp_path / "s.png")
    assert renames[-1][1] == tmp_path / "s.png" and renames[-1][0].suffix == ".png"
    assert (tmp_path / "s.png").read_bytes() == b"\x89PNG fake"


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "f.json"
    target.write_text("old")

    def half(f):
        f.write(b"new, but")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        atomic_write_with(target, half)
    with pytest.raises(RuntimeError):
        atomic_write_via_path(target, lambda p: (p.write_text("partial"), (_ for _ in ()).throw(RuntimeError("x"))))
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def test_atomic_files_get_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    atomic_write_with(tmp_path / "f", lambda f: f.write(b"x"))
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o666 & ~umask


def test_the_calf_log_is_always_whole_rows_and_bounded(tmp_path):
    log = CalfLog(tmp_path / "calf_log.csv", max_rows=40, publish_every=0.0)
    assert (tmp_path / "calf_log.csv").read_text().count("\n") == 1  # the header, at once
    for step in range(1, 101):
        log.write(step, 1, -1.0, -2.0, 0.1, 10.0, True, 0, 0.5, True)
        if step % 7 == 0:
            log.publish()
            rows = (tmp_path / "calf_log.csv").read_text().splitlines()
            assert all(r.count(",") == 10 for r in rows) and rows[-1].startswith(f"{step},")
    log.close()
    cur = (tmp_path / "calf_log.csv").read_text().splitlines()
    prev = (tmp_path / "calf_log.prev.csv").read_text().splitlines()
    assert len(cur) - 1 + len(prev) - 1 <= 40 and cur[-1].startswith("100,") and prev[-1].startswith(f"{100 - 20},")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calf_log.csv", "calf_log.prev.csv"]


# -- write failures during a run -------------------------------------------------------------------
def test_periodic_write_failures_warn_once_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    import runfiles.run_outputs as ro

    full = {"on": True}

    def failing_save(world, path):
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return save_checkpoint(world, path)

    monkeypatch.setattr(ro, "save_checkpoint", failing_save)
    w = small_world()
    out = RunOutputs(w, tmp_path / "run")
    w.run(100)
    episodes = w.resource(TrainingStats).episodes
    assert episodes >= 3 and out.checkpoints_written == 0
    err = capsys.readouterr().err
    assert err.count("checkpoint in") == 1 and "(No space left on device); the run goes on" in err
    assert (tmp_path / "run" / "run_summary.json").exists()  # the other files kept coming
    full["on"] = False
    assert out.close() == {} and out.checkpoints_written == 1  # the disk has room again: all saved
    w.shutdown()


def test_a_final_write_failure_is_exit_code_3_with_one_line_per_file(tmp_path, monkeypatch, capsys):
    import runfiles.run_outputs as ro

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ro, "save_checkpoint", lambda w, p: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only")))
    code = app.main(["--headless", "--frames", "20", "--agents", "0", "--out", "run", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 3 and "20 frames (headless)" in out  # 3: something was lost
    assert err.splitlines()[-1] == "app.py: error: checkpoint in run: not written (Read-only)"
    assert json.loads((tmp_path / "run" / "run_summary.json").read_text())["total_steps"] == 20


def test_f1_into_an_unusable_folder_warns_and_the_run_goes_on(tmp_path, capsys):
    from components.view_state import ViewState
    from runtime.view_systems import add_view_systems
    from view.controls import press

    cfg = build_config(overrides={"visual": {"agents": 1}, "run": {"out": str(tmp_path / "run")}})
    w = build_world(cfg, extend=lambda world: add_view_systems(world, cfg))
    RunOutputs(w, tmp_path / "run")
    w.run(3)
    press(w, "f1")
    assert Path(w.resource(ViewState).exported_profiles[-1]).parent == tmp_path / "run"
    (tmp_path / "run").rename(tmp_path / "gone")
    (tmp_path / "run").write_text("a file where the folder was")
    press(w, "f1")
    assert "app.py: warning: F1: profile not written" in capsys.readouterr().err
    w.run(3)  # the run went on
    (tmp_path / "run").unlink()
    (tmp_path / "gone").rename(tmp_path / "run")
    for _ in range(30):
        press(w, "f1")
    assert len(w.resource(ViewState).exported_profiles) == 20  # remembered, but bounded
    w.shutdown()


# -- a checkpoint never half-loads -----------------------------------------------------------------
def snapshot(world):
    td3, table = world.resource(TD3), world.resource(AgentTable)
    stats, rb = world.resource(TrainingStats), world.resource(ReplayBuffer)
    return {
        "params": [p.detach().clone() for m in (td3.actor, td3.critic, td3.actor_target, td3.critic_target)
                   for p in m.parameters()],
        "opt": [t.clone() for o in (td3.actor_opt, td3.critic_opt) for s in o.opt.state.values() for t in s.values()],
        "td3": (td3.updates, td3.actor_updates),
        "replay": (rb.data.copy(), rb.head, rb.size),
        "stats": (stats.episodes, stats.total_steps, stats.train_updates, list(stats.returns), stats.phase),
        "calf": world.resource(CalfState).relax_steps,
        "row": table.state[table.training_row].copy(),
        "rng": json.dumps(world.resource(Rngs).state(), default=str),
        "torch_rng": torch.get_rng_state(),
    }


def same(a, b):
    assert all(torch.equal(x, y) for x, y in zip(a["params"], b["params"]))
    assert len(a["opt"]) == len(b["opt"]) and all(torch.equal(x, y) for x, y in zip(a["opt"], b["opt"]))
    np.testing.assert_array_equal(a["replay"][0], b["replay"][0])
    assert a["replay"][1:] == b["replay"][1:] and a["td3"] == b["td3"] and a["stats"] == b["stats"]
    assert a["calf"] == b["calf"] and np.array_equal(a["row"], b["row"]) and a["rng"] == b["rng"]
    assert torch.equal(a["torch_rng"], b["torch_rng"])


def _last_tensor(d):
    return d[list(d)[-1]]


#: ways a checkpoint can be damaged late in its contents (after parts that load fine)
DAMAGE = {
    "critic shape": lambda d: d["td3"]["critic"].__setitem__("weights.1", torch.zeros(2, 3, 3)),
    "target weights nan": lambda d: _last_tensor(d["td3"]["critic_target"]).fill_(float("nan")),
    "optimiser moments inf": lambda d: d["td3"]["critic_opt"]["state"][0]["exp_avg"].fill_(float("inf")),
    "replay width": lambda d: d["replay"].__setitem__("rows", torch.zeros(5, 3)),
    "replay nan": lambda d: d["replay"]["rows"].__setitem__((0, 0), float("nan")),
    "relax steps": lambda d: d["calf"].__setitem__("relax_steps", "many"),
    "negative stats": lambda d: d["stats"].__setitem__("episodes", -4),
    "stats missing": lambda d: d["stats"].pop("successes"),
    "training row shape": lambda d: d["training_agent"].__setitem__("state", [1.0, 2.0, 3.0]),
    "training row nan": lambda d: d["training_agent"].__setitem__("state", [float("nan"), 0.0]),
    "numpy rng": lambda d: d["rng"]["numpy"]["spawn"].__setitem__("state", {"state": "x", "inc": 1}),
    "torch rng": lambda d: d["rng"].__setitem__("torch", torch.zeros(3, dtype=torch.uint8)),
}


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    src = small_world()
    src.run(60)
    path = save_checkpoint(src, tmp_path_factory.mktemp("ckpt") / "c.pt")
    src.shutdown()
    return path


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_checkpoint_changes_nothing_in_the_world(good_checkpoint, damage):
    path = good_checkpoint
    data = read_checkpoint(path)
    DAMAGE[damage](data)
    dst = small_world()
    dst.run(12)  # training has started: optimiser state exists
    before = snapshot(dst)
    with pytest.raises(CheckpointError, match=f"checkpoint {path}: ") as exc:
        restore(dst, data, path)
    assert "\n" not in str(exc.value)
    same(before, snapshot(dst))
    dst.step()  # and the world still runs
    dst.shutdown()


# -- signals stop the loop after a whole frame (real signals to this process) ----------------------
class SignalAt(System):
    """Sends this process a signal (`times` times) during one frame, as a user or a process manager would."""

    def __init__(self, sig, frame, times=1):
        self.sig, self.frame, self.times = sig, frame, times

    def process(self, world, dt):
        if world.frame == self.frame:
            for _ in range(self.times):
                os.kill(os.getpid(), self.sig)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_headless_loop_after_the_frame(sig):
    from runtime.headless import run_headless

    w = small_world(run={"frames": 10_000})
    w.add_system(SignalAt(sig, 25), after="PhysicsSystem")  # mid-frame: the frame still completes
    previous = signal.getsignal(sig)
    result = run_headless(w, w.resource(AppConfig), progress=False)
    assert result["interrupted"] and not result["aborted"] and result["signal"] == sig.name
    assert result["frames"] == 26 and w.resource(TrainingStats).total_steps == 26
    assert signal.getsignal(sig) == previous  # the handler is put back
    w.shutdown()


def test_a_second_signal_stops_at_once_but_not_while_shielded():
    from process.stop import StopRequest
    from runtime.headless import run_headless

    w = small_world(run={"frames": 10_000})
    w.add_system(SignalAt(signal.SIGTERM, 5, times=2), after="ControlSystem")
    with StopRequest() as stop:
        result = run_headless(w, w.resource(AppConfig), progress=False, stop=stop)
        assert result["aborted"] and result["frames"] == 5  # frame 5 was cut short by the second signal
        with stop.shield():
            os.kill(os.getpid(), signal.SIGTERM)  # saving now: only noted
            os.kill(os.getpid(), signal.SIGINT)
    w.shutdown()


def test_a_plugin_failing_inside_a_frame_is_contained_everything_is_saved_and_exit_is_1(tmp_path, monkeypatch,
                                                                                          capsys):
    monkeypatch.chdir(tmp_path)
    code = app.main(["--headless", "--frames", "100", "--agents", "1", "--out", "run", "--profile", "p.json",
                     "--no-progress", "--plugin", "tests.plugins_for_tests.faulty:FailsAt:after=PhysicsSystem"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("app.py: error: plugin FailsAt failed in process at frame 30 "
                                           "(RuntimeError: plugin bug at frame 30); it was switched off")
    summary = json.loads((tmp_path / "run" / "run_summary.json").read_text())
    assert summary["interrupted"] is True and summary["total_steps"] == 31  # frame 30 completed without it
    assert summary["plugin_failures"] == ["plugin FailsAt failed in process at frame 30 (RuntimeError: plugin bug at "
                                          "frame 30)"]
    assert (tmp_path / "p.json").exists() and (tmp_path / "run" / "calf_log.csv").exists()
    assert read_checkpoint(tmp_path / "run" / "checkpoint.pt")["stats"]["total_steps"] == 31  # the whole frame
    assert "RuntimeError: plugin bug at frame 30" in (tmp_path / "run" / "errors.log").read_text()
