"""The validators' former home, kept so an environment's `Options` written against it still imports.

They live in `validation.validators` now (below the environments, which use them); import from there.
"""
from __future__ import annotations

import warnings

from validation.validators import *  # noqa: F403
from validation.validators import ConfigError, Rule, rule_of, to_float  # noqa: F401 - the names plugins use

warnings.warn("config.validators moved to validation.validators", DeprecationWarning, stacklevel=2)
