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


# -- tests/test_processes.py: its app.py runs start at collection, its tests run last ----------------
_process_pool = None


def _is_process_test(item) -> bool:
    return item.nodeid.split("::")[0].endswith("test_processes.py")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=_is_process_test)  # stable: everything else keeps its order


def pytest_collection_finish(session):
    """Real runs take seconds to start: launch them now, so they run beside the rest of the suite."""
    global _process_pool
    if any(_is_process_test(item) for item in session.items):
        from tests.process_runs import Pool

        _process_pool = Pool()


def pytest_sessionfinish(session):
    if _process_pool is not None:
        _process_pool.close()


@pytest.fixture(scope="session")
def process_runs():
    """The finished runs of tests/process_runs.Pool (started at collection, or now)."""
    global _process_pool
    if _process_pool is None:
        from tests.process_runs import Pool

        _process_pool = Pool()
    return _process_pool.wait()
