"""One boundary around everything a plugin runs, so its failures are contained wherever they happen.

A plugin is code from outside the project. Whatever it raises, `SystemExit` from `sys.exit()`
included, is caught at this boundary (a KeyboardInterrupt is the user's Ctrl-C and passes):

- **before the run** (importing its module, making it from its options, `setup`): a PluginError,
  one line naming the plugin and the failure, exit code 2, nothing written. Its module's source
  file must be a regular file of bounded size before Python imports it (safe_io.paths).
- **during the run** (`process`, and the event handlers, frame-end hooks and report figures it
  registered in `setup`): the failure is recorded (`PluginFailures`, with its traceback for the
  run folder's errors.log), one warning line says what happened, the plugin is switched off
  (its system disabled, its handlers, hooks and figures silenced) and the run is asked to stop
  after the current frame (the `StopRequest` resource), so the frame completes and everything,
  the final checkpoint included, is saved.
- **at teardown**: recorded; the outputs are already written; the exit code says a plugin failed.

After every `process` of a plugin the finite check (systems.finite_check) runs on the agent table,
so a NaN a plugin writes never reaches a later system of the same frame.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import define, field

from ecs.system import System
from process.messages import describe, warning
from process.time_limit import TimeUp, time_limit
from validation.validators import ConfigError

if TYPE_CHECKING:
    from ecs.world import World

#: what the boundary contains: anything raised (errors, sys.exit(), odd BaseException subclasses),
#: except a KeyboardInterrupt, which is the user's Ctrl-C (re-raised by `_passes`)
CONTAINED = BaseException
#: how long a plugin's import and its constructor may take before the program gives up on it
START_SECONDS = 30.0


def _passes(exc: BaseException) -> bool:
    """Exceptions the boundary lets through: the user's Ctrl-C (a second signal stops the run)."""
    return isinstance(exc, (KeyboardInterrupt, GeneratorExit))
#: failures inside a frame stop the run after that frame (its figures and teardown come after the frames)
STOPPING_PHASES = ("process", "frame-end hook")


def stops_the_run(phase: str) -> bool:
    return phase in STOPPING_PHASES or phase.startswith("event handler")


class PluginError(ConfigError):
    """A plugin could not be loaded, made, set up or placed (before the run: exit code 2)."""


@define
class PluginFailure:
    plugin: str
    phase: str  # "process", "event handler 'episodes_ended'", "frame-end hook", "report figures", "teardown"
    frame: int
    error: str  # describe(exc)
    traceback: str
    #: what followed, for the closing line (None: a plugin's, which the session words by phase)
    consequence: str | None = None

    def line(self) -> str:
        who = self.plugin if self.plugin.startswith("environment ") else f"plugin {self.plugin}"
        return f"{who} failed in {self.phase} at frame {self.frame} ({self.error})"


@define
class PluginFailures:
    """World resource: every contained failure of a plugin, in order."""

    items: list[PluginFailure] = field(factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):  # noqa: ANN204
        return iter(self.items)


# -- before the run --------------------------------------------------------------------------------
def is_source_path(module_part: str) -> bool:
    """Whether a plugin's `module` part names a Python file (`path/to/speed.py`) rather than a module."""
    return module_part.endswith(".py")


def module_key(module_part: str) -> str:
    """The name under which a plugin's module is in sys.modules (a file gets a name of its own,
    derived from its absolute path, so two `speed.py` in different folders never collide)."""
    if not is_source_path(module_part):
        return module_part
    path = os.path.abspath(os.path.expanduser(module_part))
    stem = "".join(ch if ch.isalnum() else "_" for ch in Path(path).stem)
    return f"calf_ecs_plugin_{stem}_{hashlib.sha1(path.encode('utf-8', 'surrogateescape')).hexdigest()[:10]}"


def _importable_from_cwd() -> None:
    """As with `python -m`, a package in the folder the program is started in can be imported, however
    the program was started (`python /elsewhere/app.py`, the installed `calf-ecs` script). The folder
    goes last on the path, so a file there never hides one of the project's own modules."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)


def _import_file(module_part: str) -> Any:
    """Import a plugin given as a Python file; its folder goes on the path (last) for its own imports."""
    from safe_io.paths import check_source_file

    path = os.path.abspath(os.path.expanduser(module_part))
    check_source_file(path, "its file")
    key = module_key(module_part)
    if key in sys.modules:
        return sys.modules[key]
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(key, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(key, None)
        raise
    return module


def import_module(module_name: str, what: str) -> Any:
    """Import a plugin's module (a dotted name, found on the path or in the current folder, or a
    `.py` file); each source file is vetted before Python reads it."""
    from safe_io.paths import PathError

    try:
        with time_limit(START_SECONDS):
            return _import(module_name)
    except TimeUp:
        raise PluginError(f"plugin {what!r}: importing {module_name} did not finish within {START_SECONDS:g} s") from None
    except PathError as exc:
        raise PluginError(f"plugin {what!r}: cannot import {module_name} ({exc})") from None
    except CONTAINED as exc:  # ImportError, an error raised while importing, sys.exit() at import
        if _passes(exc):
            raise
        raise PluginError(f"plugin {what!r}: cannot import {module_name} ({describe(exc)})") from None


def _import(module_name: str) -> Any:
    from safe_io.paths import check_source_file

    if is_source_path(module_name):
        return _import_file(module_name)
    _importable_from_cwd()
    parts = module_name.split(".")
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r} (looked in the current folder "
                                      "and on the Python path)")
        if spec.has_location and spec.origin:
            check_source_file(spec.origin, "its module file")
        importlib.import_module(name)
    return sys.modules[module_name]


def check_declarations(cls: type, what: str) -> None:
    """The class attributes the schedule and --list-systems read must have the right types."""
    if not isinstance(cls.name, str) or not cls.name or not cls.name.isprintable():
        raise PluginError(f"plugin {what!r}: its name must be a non-empty printable string, got {cls.name!r}")
    for attr in ("after", "before", "reads", "writes"):
        value = getattr(cls, attr, ())
        items = (value,) if isinstance(value, str) else value
        if not isinstance(items, (tuple, list)) or not all(isinstance(v, str) for v in items):
            raise PluginError(f"plugin {what!r}: {attr} must be a tuple of names, got {value!r}")


def construct(cls: type, options: dict, what: str) -> System:
    """Make the plugin from its options; any failure (a wrong option, a check in its constructor,
    sys.exit()) is a PluginError."""
    try:
        with time_limit(START_SECONDS):
            return cls(**options)
    except TimeUp:
        raise PluginError(f"plugin {what!r}: its constructor did not finish within {START_SECONDS:g} s") from None
    except (TypeError, ValueError) as exc:
        raise PluginError(f"plugin {what!r}: bad options {options!r} ({describe(exc)})") from None
    except CONTAINED as exc:
        if _passes(exc):
            raise
        raise PluginError(f"plugin {what!r}: cannot be made with options {options!r} ({describe(exc)})") from None


# -- around a plugin's methods ---------------------------------------------------------------------
class Boundary:
    """Installed on one plugin instance: its setup, process and teardown, and what setup registers."""

    def __init__(self, plugin: System, what: str) -> None:
        self.plugin = plugin
        self.what = what
        self.failed = False
        self._setup = plugin.setup
        self._process = plugin.process
        self._teardown = plugin.teardown
        self._world: World | None = None
        self._check = None  # the world's systems.finite_check.FiniteCheck

    def install(self) -> System:
        p = self.plugin
        for name, method in (("setup", self.setup), ("process", self.process), ("teardown", self.teardown)):
            object.__setattr__(p, name, method)  # on the instance: the schedule keeps the plugin itself
        object.__setattr__(p, "_plugin_boundary", self)
        return p

    # phases
    def setup(self, world: "World") -> None:
        from components.resources import ReportExtras
        from systems.finite_check import FiniteCheck

        self._world = world
        self._check = world.try_resource(FiniteCheck)  # the core's FiniteCheckSystem set it up before
        handlers = {name: list(hs) for name, hs in world.events._handlers.items()}
        hooks = list(world._frame_end_hooks)
        extras = world.try_resource(ReportExtras)
        extras_before = dict(extras) if extras is not None else {}
        try:
            self._setup(world)
        except CONTAINED as exc:
            if _passes(exc):
                raise
            raise PluginError(f"plugin {self.what!r}: setup failed ({describe(exc)})") from None
        for event, hs in world.events._handlers.items():  # what setup subscribed: guarded too
            old = handlers.get(event, [])
            for i, h in enumerate(hs):
                if h not in old:
                    hs[i] = self._guard(h, f"event handler {event!r}")
        world._frame_end_hooks[:] = [h if h in hooks else self._guard(h, "frame-end hook")
                                     for h in world._frame_end_hooks]
        if extras is not None:
            for key, fn in list(extras.items()):
                if key not in extras_before or extras_before[key] is not fn:
                    extras[key] = self._guard_figures(fn)

    def process(self, world: "World", dt: float) -> None:
        if not self.failed:
            try:
                self._process(world, dt)
            except CONTAINED as exc:
                if _passes(exc):
                    raise
                self.fail("process", exc)
        if self._check is not None:  # what this plugin wrote, before any later system reads it
            self._check.run(world, after=self.plugin.name)

    def teardown(self, world: "World") -> None:
        try:
            self._teardown(world)
        except CONTAINED as exc:
            if _passes(exc):
                raise
            self.fail("teardown", exc, stop=False)

    # helpers
    def _guard(self, fn: Callable, phase: str) -> Callable:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if self.failed:
                return None
            try:
                return fn(*args, **kwargs)
            except CONTAINED as exc:
                if _passes(exc):
                    raise
                self.fail(phase, exc)
                return None

        guarded.__self__ = self.plugin  # registered in the plugin's setup: the access audit counts it as the plugin's
        guarded.__wrapped__ = fn
        return guarded

    def _guard_figures(self, fn: Any) -> Callable[[], Any]:
        def figures() -> Any:
            if self.failed:
                return {"error": "the plugin failed and was switched off"}
            try:
                if not callable(fn):
                    raise TypeError(f"its report entry is {type(fn).__name__}, not a callable")
                return fn()
            except CONTAINED as exc:
                if _passes(exc):
                    raise
                self.fail("report figures", exc)
                return {"error": describe(exc)}

        return figures

    def fail(self, phase: str, exc: BaseException, *, stop: bool = True) -> None:
        """Record the failure, say so in one line, switch the plugin off and ask the run to stop."""
        world = self._world
        frame = world.frame if world is not None else 0
        text = "".join(traceback.format_exception(exc))
        failure = PluginFailure(self.plugin.name, phase, frame, describe(exc), text)
        self.failed = True
        if world is None:
            return
        failures = world.try_resource(PluginFailures)
        if failures is None:
            failures = world.insert_resource(PluginFailures())
        failures.items.append(failure)
        if self.plugin.name in world.schedule:
            world.schedule.disable(self.plugin.name)
        if not stop:
            return
        from process.stop import StopRequest

        request = world.try_resource(StopRequest)
        if request is not None and stops_the_run(phase):
            request.request(f"plugin {self.plugin.name} failed")
            warning(f"{failure.line()}; it is switched off and the run stops after this frame")
        else:
            warning(f"{failure.line()}; it is switched off")


def contain(plugin: System, what: str) -> System:
    """Put `plugin` behind the boundary (on the instance itself: `world.system(name) is plugin`)."""
    return Boundary(plugin, what).install()


def failures_of(world: "World") -> list[PluginFailure]:
    found = world.try_resource(PluginFailures)
    return list(found) if found is not None else []
