import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def small_cfg():
    from config import build_config

    return build_config(overrides={"visual": {"agents": 4}, "run": {"seed": 7}})
