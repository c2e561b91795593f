"""Environments as plugins: a user's environment from another folder through --system (in-process and as a
real process), its [env.options] and defaults, the one-line refusal of every way a class can be broken,
the registry, and checkpoints that stay with their environment."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import app
from config import SYSTEMS, build_config
from envs import make_environment
from envs.registry import canonical, register, registered, resolve
from tests.test_bad_input import run_refused

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "spring_mass.py"

#: broken variants of the example, one line each, and the fragment their refusal must contain
BROKEN = {
    "NotAnEnvironment": ("class NotAnEnvironment:\n    pass\n", "is not an envs.base.Environment subclass"),
    "ZeroState": ("class ZeroState(SpringMass):\n    state_dim = 0\n", "state_dim must be a positive integer"),
    "AxesOutside": ("class AxesOutside(SpringMass):\n    surface_axes = (0, 2)\n", "surface_axes must be a tuple"),
    "NoNominal": ("class NoNominal(Environment):\n    state_dim = 2\n    action_dim = 1\n"
                  "    derivatives = SpringMass.derivatives\n    reward = SpringMass.reward\n"
                  "    goal_reached = SpringMass.goal_reached\n    sample_states = SpringMass.sample_states\n"
                  "    surface_state = SpringMass.surface_state\n    action_bound = SpringMass.action_bound\n",
                  "does not implement nominal(states)"),
    "RewardSignature": ("class RewardSignature(SpringMass):\n    def reward(self, states):\n        return states[:, 0]\n",
                        "reward must take (states, actions)"),
    "FlatNominal": ("class FlatNominal(SpringMass):\n    def nominal(self, states):\n"
                    "        return super().nominal(states)[:, 0]\n",
                    "nominal(states) returned shape (8,), expected (8, 1)"),
    "NanDerivatives": ("class NanDerivatives(SpringMass):\n    def derivatives(self, states, actions, out=None):\n"
                       "        out = super().derivatives(states, actions, out)\n        out[0, 1] = np.nan\n"
                       "        return out\n", "derivatives(states, actions) returned NaN or inf"),
    "IgnoresOut": ("class IgnoresOut(SpringMass):\n    def derivatives(self, states, actions, out=None):\n"
                   "        return super().derivatives(states, actions)\n", "must write into out and return it"),
    "NegativeBound": ("class NegativeBound(SpringMass):\n    def action_bound(self):\n        return np.array([-1.0])\n",
                      "action_bound() must be positive"),
    "BoundShape": ("class BoundShape(SpringMass):\n    def action_bound(self):\n        return np.array([1.0, 2.0])\n",
                   "action_bound() returned shape (2,), expected (1,)"),
    "NominalTooStrong": ("class NominalTooStrong(SpringMass):\n    def nominal(self, states):\n"
                         "        return 10.0 * super().nominal(states) + 100.0\n", "outside [-action_bound()"),
    "RewardColumn": ("class RewardColumn(SpringMass):\n    def reward(self, states, actions):\n"
                     "        return super().reward(states, actions)[:, None]\n",
                     "reward(states, actions) returned shape (8, 1), expected (8,)"),
    "GoalFloats": ("class GoalFloats(SpringMass):\n    def goal_reached(self, states):\n"
                   "        return self.state_norm(states)\n", "goal_reached(states) must return booleans"),
    "SamplesList": ("class SamplesList(SpringMass):\n    def sample_states(self, rng, count):\n"
                    "        return [[0.0, 0.0]] * count\n", "sample_states(rng, 8) must return a numpy array"),
    "SamplingFails": ("class SamplingFails(SpringMass):\n    def sample_states(self, rng, count):\n"
                      "        raise ValueError('no starts today')\n", "sample_states raised ValueError: no starts today"),
    "NotTheInverse": ("class NotTheInverse(SpringMass):\n    def surface_coords(self, states):\n"
                      "        return 2 * states[:, 0], states[:, 1]\n", "surface_coords(surface_state(a, b)) must give back"),
    "UnknownDefault": ("class UnknownDefault(SpringMass):\n    config_defaults = {'speed_limit': 3.0}\n",
                       "config_defaults names 'speed_limit'"),
    "UnknownPreset": ("class UnknownPreset(SpringMass):\n    preset_defaults = {'fast': {}}\n",
                      "unknown training preset 'fast'"),
    "UnknownCalfDefault": ("class UnknownCalfDefault(SpringMass):\n    calf_defaults = {'dwell': 1.0}\n",
                           "calf_defaults names 'dwell', which is not a [calf] key"),
    "CalfDefaultsList": ("class CalfDefaultsList(SpringMass):\n    calf_defaults = [('fallback_dwell', 1.0)]\n",
                         "calf_defaults must be a dict of [calf] keys"),
    "OptionsNotAttrs": ("class OptionsNotAttrs(SpringMass):\n    Options = dict\n", "Options must be an attrs class"),
    "ExitsWhenSampled": ("class ExitsWhenSampled(SpringMass):\n    def sample_states(self, rng, count):\n"
                         "        raise SystemExit(3)\n", "sample_states raised SystemExit: 3"),
    "ConstructorFails": ("class ConstructorFails(SpringMass):\n    def __init__(self, cfg):\n"
                         "        raise RuntimeError('no hardware')\n", "constructing it failed (RuntimeError: no hardware)"),
}


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A folder outside the project holding a package (unique name: no module cache between tests)
    with the example environment and its broken variants; the current directory is that folder."""
    name = f"lab_{uuid.uuid4().hex[:8]}"
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    shutil.copy(EXAMPLE, pkg / "spring.py")
    (pkg / "broken.py").write_text("import numpy as np\n\nfrom envs.base import Environment\n"
                                   f"from {name}.spring import SpringMass\n\n\n" + "\n\n".join(c for c, _ in BROKEN.values()))
    (pkg / "explodes.py").write_text("raise ImportError('missing driver library')\n")
    (pkg / "quits.py").write_text("import sys\nsys.exit(4)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the loader makes the current folder importable
    return name


def test_a_user_environment_from_another_folder_runs_with_its_options(lab, capsys):
    (Path.cwd() / "spring.toml").write_text("[env.options]\nstiffness = 2.0\nforce_bound = 3.0\n")
    code = app.main(["--system", f"{lab}.spring:SpringMass", "--config", "spring.toml", "--headless", "--train-preset",
                     "quick", "--frames", "150", "--agents", "2", "--no-progress", "--out", "run"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads((Path("run") / "run_summary.json").read_text())
    assert summary["system"] == f"{lab}.spring:SpringMass" and summary["total_steps"] == 150
    saved = (Path("run") / "config.toml").read_text()
    assert "options = {stiffness = 2.0, force_bound = 3.0}" in saved and "max_steps_per_episode = 600" in saved
    # the saved config loads back into the same environment
    code = app.main(["--config", "run/config.toml", "--list-systems", "--headless"])
    assert code == 0, capsys.readouterr().err


def test_options_and_defaults_of_a_user_environment(lab):
    cfg = build_config(train_preset="quick", overrides={"env": {"system": f"{lab}.spring:SpringMass",
                                                                "options": {"kp": 5.0}}})
    assert (cfg.env.boundary_limit, cfg.env.max_steps_per_episode, cfg.env.reward_scale) == (4.0, 600, 10.0)
    env = make_environment(cfg.env, check=True)
    assert env.options.kp == 5.0 and env.action_high.tolist() == [2.0]
    assert env.name == f"{lab}.spring:SpringMass"


@pytest.mark.parametrize("cls", list(BROKEN))
def test_a_broken_environment_is_refused_in_one_line(lab, cls, capsys):
    err = run_refused(["--system", f"{lab}.broken:{cls}"], Path.cwd(), capsys)
    assert BROKEN[cls][1] in err and f"{lab}.broken:{cls}" in err, err


@pytest.mark.parametrize("system, fragment", [
    ("{lab}.explodes:Env", "cannot import {lab}.explodes (ImportError: missing driver library)"),
    ("{lab}.spring:NoSuchClass", "module {lab}.spring has no NoSuchClass"),
    ("{lab}.quits:Env", "cannot import {lab}.quits (SystemExit: 4)"),
    ("{lab}.nowhere:Env", "cannot import {lab}.nowhere (ModuleNotFoundError"),
])
def test_an_environment_that_cannot_be_imported_is_refused_in_one_line(lab, capsys, system, fragment):
    err = run_refused(["--system", system.format(lab=lab)], Path.cwd(), capsys)
    assert fragment.format(lab=lab) in err, err


def test_bad_options_of_a_user_environment_are_one_line(lab, capsys):
    (Path.cwd() / "bad.toml").write_text(f"[env]\nsystem = '{lab}.spring:SpringMass'\n[env.options]\nstifness = 2\n")
    err = run_refused(["--config", "bad.toml"], Path.cwd(), capsys)
    assert "env.options: unknown key 'stifness'" in err and "did you mean 'stiffness'" in err
    (Path.cwd() / "bad.toml").write_text(f"[env]\nsystem = '{lab}.spring:SpringMass'\n[env.options]\nmass = 0\n")
    assert "env.options.mass must be > 0.0" in run_refused(["--config", "bad.toml"], Path.cwd(), capsys)


def test_checkpoints_stay_with_their_environment(lab, capsys):
    """Same state and action sizes as the pendulum, yet neither resumes the other's checkpoint."""
    common = ["--headless", "--frames", "40", "--agents", "0", "--no-progress", "--train-preset", "quick"]
    assert app.main(["--system", "pendulum", "--out", "runs/pend", *common]) == 0
    user = f"{lab}.spring:SpringMass"
    assert app.main(["--system", user, "--out", "runs/spring", *common]) == 0
    capsys.readouterr()
    err = run_refused(["--system", user, "--resume", "runs/pend/checkpoint.pt", "--out", "runs/x"], Path.cwd(), capsys)
    assert f"made for environment pendulum, this run is {user}" in err
    err = run_refused(["--system", "pendulum", "--resume", "runs/spring/checkpoint.pt", "--out", "runs/y"],
                      Path.cwd(), capsys)
    assert f"made for environment {user}, this run is pendulum" in err
    # --resume auto finds the run of the same environment, and a resume of the right one works
    assert app.main(["--system", user, "--resume", "auto", "--out", "runs/spring2", *common]) == 0
    summary = json.loads(Path("runs/spring2/run_summary.json").read_text())
    assert summary["resumed_from"].endswith("runs/spring/checkpoint.pt")


def test_builtins_are_registered_like_a_users_class():
    assert registered() == SYSTEMS
    for name in SYSTEMS:
        cls = resolve(name)
        assert resolve(f"{cls.__module__}:{cls.__name__}") is cls
        assert canonical(f"{cls.__module__}:{cls.__name__}") == name
        env = make_environment(build_config(overrides={"env": {"system": f"{cls.__module__}:{cls.__name__}"}}).env,
                               check=True)
        assert env.name == name  # one environment, whichever way it was named
    with pytest.raises(ValueError, match="already registered"):
        register("pendulum", "examples.spring_mass:SpringMass")
    with pytest.raises(ValueError, match="identifier"):
        register("my env", "examples.spring_mass:SpringMass")


@pytest.mark.slow
def test_the_real_program_loads_an_environment_from_the_folder_it_runs_in(tmp_path):
    """A separate process, started in a folder outside the project: the current folder is importable."""
    pkg = tmp_path / "mylab"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    shutil.copy(EXAMPLE, pkg / "spring.py")
    res = subprocess.run([sys.executable, str(ROOT / "app.py"), "--system", "mylab.spring:SpringMass", "--headless",
                          "--frames", "50", "--agents", "3", "--no-progress", "--out", "run"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "run" / "run_summary.json").read_text())
    assert summary["system"] == "mylab.spring:SpringMass" and summary["total_steps"] == 50


# -- mid-run failures: contained like a plugin's -----------------------------------------------------
MIDRUN = "        self.calls = getattr(self, 'calls', 0) + 1\n        if self.calls > {n}:\n"
FAILING = {  # class body -> the method named in the failure line
    "SampleRows": ("    def sample_states(self, rng, count):\n"
                   "        return super().sample_states(rng, max(count, 8))\n", "sample_states",
                   "returned shape (8, 2), expected (1, 2)"),
    "ExitsInDerivatives": ("    def derivatives(self, states, actions, out=None):\n" + MIDRUN.format(n=120)
                           + "            raise SystemExit(0)\n        return super().derivatives(states, actions, out)\n",
                           "derivatives", "SystemExit: it called sys.exit(0)"),
    "ExitsInSampling": ("    def sample_states(self, rng, count):\n" + MIDRUN.format(n=3)
                        + "            raise SystemExit(3)\n        return super().sample_states(rng, count)\n",
                        "sample_states", "sys.exit(3)"),
    "RewardShape": ("    def reward(self, states, actions):\n" + MIDRUN.format(n=30)
                    + "            return np.zeros((len(states), 2))\n        return super().reward(states, actions)\n",
                    "reward", ", 2), expected ("),  # (the agents' rows, or the safety reference's 1000 starts)
    "NominalRaises": ("    def nominal(self, states):\n" + MIDRUN.format(n=30)
                      + "            raise KeyError('gain')\n        return super().nominal(states)\n",
                      "nominal", "KeyError: 'gain'"),
    "OutcomesList": ("    def outcomes(self, states, steps):\n" + MIDRUN.format(n=30)
                     + "            return [0] * len(states)\n        return super().outcomes(states, steps)\n",
                     "outcomes", "returned list, not a numpy array"),
}


@pytest.mark.parametrize("cls", list(FAILING))
def test_an_environment_failing_mid_run_is_contained_its_files_kept_exit_1(lab, cls, capsys):
    body, method, fragment = FAILING[cls]
    (Path.cwd() / lab / "midrun.py").write_text(f"import numpy as np\nfrom {lab}.spring import SpringMass\n\n\n"
                                                f"class {cls}(SpringMass):\n" + body)
    code = app.main(["--system", f"{lab}.midrun:{cls}", "--headless", "--frames", "60", "--agents", "0",
                     "--no-progress", "--out", "run", "--set", "env.max_steps_per_episode=20",
                     "--set", "td3.start_training_step=10", "--set", "td3.batch_size=8"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("app.py: error:")]
    assert len(errors) == 1 and f"environment '{lab}.midrun:{cls}' failed in {method}" in errors[0], err
    assert fragment in errors[0] and "everything was saved" in errors[0]
    summary = json.loads((Path("run") / "run_summary.json").read_text())
    assert summary["interrupted"] is True and any(method in f for f in summary["plugin_failures"])
    assert (Path("run") / "checkpoint.pt").exists() and "Traceback" in (Path("run") / "errors.log").read_text()


def test_the_built_in_environments_are_not_wrapped_a_users_is():
    from envs.registry import is_builtin
    from examples.spring_mass import SpringMass
    from runtime.build import build_world

    world = build_world(build_config(overrides={"visual": {"agents": 0}}), spawn=False)
    try:
        from envs.base import Environment

        assert not hasattr(world.resource(Environment), "_environment_boundary")
    finally:
        world.shutdown()
    assert is_builtin(resolve("pendulum")) and not is_builtin(SpringMass)


@pytest.mark.parametrize("body,where", [
    ("    def sample_states(self, rng, count):\n        import time\n        while True:\n            time.sleep(0.05)\n",
     "sample_states never returned"),
    ("    def derivatives(self, states, actions, out=None):\n        while True:\n            pass\n",
     "derivatives never returned"),
])
def test_start_up_checks_that_never_finish_are_refused_in_one_line(lab, body, where, capsys, monkeypatch):
    import envs.checks

    monkeypatch.setattr(envs.checks, "SMOKE_SECONDS", 1.0)
    (Path.cwd() / lab / "stuck.py").write_text(f"from {lab}.spring import SpringMass\n\n\nclass Stuck(SpringMass):\n" + body)
    err = run_refused(["--system", f"{lab}.stuck:Stuck"], Path.cwd(), capsys)
    assert "the start-up checks did not finish within 1 s" in err and where in err, err


@pytest.mark.parametrize("statement,fragment", [
    ("raise RuntimeError('no')", "refused them (RuntimeError: no)"),
    ("raise SystemExit(4)", "refused them (SystemExit: it called sys.exit(4))"),
    ("raise KeyError('k')", "refused them (KeyError: 'k')"),
])
def test_options_whose_check_raises_anything_are_one_line(lab, statement, fragment, capsys):
    (Path.cwd() / lab / "opts.py").write_text(
        f"import attrs\nfrom {lab}.spring import SpringMass\n\n\ndef bad(inst, attr, value):\n    {statement}\n\n\n"
        "class Picky(SpringMass):\n    @attrs.define\n    class Options:\n"
        "        k: float = attrs.field(default=1.0, validator=bad)\n")
    (Path.cwd() / "o.toml").write_text(f"[env]\nsystem = '{lab}.opts:Picky'\n[env.options]\nk = 2.0\n")
    err = run_refused(["--config", "o.toml"], Path.cwd(), capsys)
    assert fragment in err, err


@pytest.mark.parametrize("where,code,fragment", [
    ("import", "import time\nwhile True:\n    time.sleep(0.05)\n", "importing {lab}.slow did not finish within 1 s"),
    ("constructor", "import time\nfrom {lab}.spring import SpringMass\n\n\nclass Slow(SpringMass):\n"
                    "    def __init__(self, cfg):\n        while True:\n            time.sleep(0.05)\n",
     "constructing it did not finish within 1 s"),
])
def test_an_environment_whose_import_or_constructor_never_returns_is_refused(lab, where, code, fragment, capsys,
                                                                              monkeypatch):
    import envs.checks

    monkeypatch.setattr(envs.checks, "SMOKE_SECONDS", 1.0)
    (Path.cwd() / lab / "slow.py").write_text(code.format(lab=lab))
    err = run_refused(["--system", f"{lab}.slow:Slow"], Path.cwd(), capsys)
    assert fragment.format(lab=lab) in err, err
