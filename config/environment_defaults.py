"""An environment's own defaults (`config_defaults`, `preset_defaults`) checked against what the
config has: shared `[env]` keys and training presets. The environment layer checks their shape; the
names belong to the config, so they are checked here, when the config is built over them."""
from __future__ import annotations

import attrs

from config.presets import TRAINING_PRESETS
from config.schema import CalfConfig, EnvConfig
from envs.checks import EnvironmentLoadError

#: the `[env]` keys every environment shares (an environment's own are its `options`)
SHARED_KEYS = frozenset(f.name for f in attrs.fields(EnvConfig)) - {"system", "options"}
#: the keys an environment's `calf_defaults` may set
CALF_KEYS = frozenset(f.name for f in attrs.fields(CalfConfig))


def check_environment_defaults(cls: type, label: str) -> None:
    """Refuse defaults naming an unknown training preset, a key that is not a shared `[env]` key, or
    (`calf_defaults`) one that is not a `[calf]` key."""
    layers = [("config_defaults", cls.config_defaults)]
    for preset, values in cls.preset_defaults.items():
        if preset not in TRAINING_PRESETS:
            raise _fail(label, f"preset_defaults names an unknown training preset {preset!r} "
                        f"(choose from {', '.join(TRAINING_PRESETS)})")
        if not isinstance(values, dict):
            raise _fail(label, f"preset_defaults[{preset!r}] must be a dict of [env] keys, got {values!r}")
        layers.append((f"preset_defaults[{preset!r}]", values))
    for where, values in layers:
        for key in values:
            if key not in SHARED_KEYS:
                raise _fail(label, f"{where} names {key!r}, which is not a shared [env] key")
    for key in cls.calf_defaults:
        if key not in CALF_KEYS:
            raise _fail(label, f"calf_defaults names {key!r}, which is not a [calf] key")


def _fail(label: str, what: str) -> EnvironmentLoadError:
    return EnvironmentLoadError(f"environment {label}: {what}")
