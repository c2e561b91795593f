"""Configuration: attrs classes with validation, named presets and a TOML file format."""
from config.loader import build_config, load_config, read_toml, replace, to_toml
from config.presets import TRAINING_PRESETS, VISUAL_PRESETS
from config.schema import (
    POLICIES,
    SYSTEMS,
    AppConfig,
    CalfConfig,
    EnvConfig,
    ProfilerConfig,
    RunConfig,
    TD3Config,
    TrainingConfig,
    VisualConfig,
)
from validation.validators import ConfigError

__all__ = [
    "AppConfig", "CalfConfig", "ConfigError", "EnvConfig", "POLICIES", "ProfilerConfig", "RunConfig",
    "SYSTEMS", "TD3Config", "TRAINING_PRESETS", "TrainingConfig", "VISUAL_PRESETS", "VisualConfig",
    "build_config", "load_config", "read_toml", "replace", "to_toml",
]
