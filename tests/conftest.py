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


# -- the order of the suite ---------------------------------------------------------------------------
# In one process (`-n 0`), tests/test_processes.py's app.py runs start at collection and its tests run
# last. Under pytest-xdist (the default, pyproject.toml) whole files go to the workers in collection
# order (--dist loadfile --no-loadscope-reorder), so the files with long tests (marked slow or render,
# or test_processes.py) come first and the short ones fill in beside them.
_process_pool = None


def _is_process_test(item) -> bool:
    return _file(item).endswith("test_processes.py")


def _file(item) -> str:
    return item.nodeid.split("::")[0]


def _under_xdist(config) -> bool:
    return bool(os.environ.get("PYTEST_XDIST_WORKER")) or bool(getattr(config.option, "numprocesses", None))


def pytest_collection_modifyitems(session, config, items):
    if not _under_xdist(config):
        items.sort(key=_is_process_test)  # stable: everything else keeps its order
        return
    long_files = {_file(item) for item in items
                  if _is_process_test(item) or item.get_closest_marker("slow") or item.get_closest_marker("render")}
    items.sort(key=lambda item: _file(item) not in long_files)


def pytest_collection_finish(session):
    """Real runs take seconds to start: launch them now, so they run beside the rest of the suite."""
    global _process_pool
    if _under_xdist(session.config):
        return  # every worker collects everything: the pool starts in the one that runs the process tests
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
