"""The documentation stands alone and stays true: no file outside the repository is cited, every
link resolves, every command in README.md and docs/ parses as written, the example code in
docs/EXTENDING.md runs, and docs/PROBLEM.md's defaults and figures are the program's."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import attrs
import pytest

from config import build_config
from config.presets import TRAINING_PRESETS, VISUAL_PRESETS
from config.schema import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
#: names of files that are not in the repository (the project's own notes live elsewhere)
OUTSIDE = ("DOMAIN.md", "RENDERING_FACTS", "stage4_implementation_plan", "../shared", "/work/")
#: phrases that only make sense to someone who saw the project's issue tracker or a branch
CONTEXT = (re.compile(r"\bissue (#?\d|'s)", re.I), re.compile(r"\bthis branch\b", re.I), re.compile(r"\bthe seed's\b"))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def source_files() -> list[Path]:
    skip = {".git", "runs", "build", "dist", ".pytest_cache", "__pycache__"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)
            and p.name != "test_docs.py" and not p.name.startswith("test_report_refusal")]


def test_no_doc_or_source_cites_a_file_outside_the_repository():
    hits = []
    for path in DOCS + source_files() + [ROOT / "pyproject.toml"]:
        text = path.read_text(encoding="utf-8")
        hits += [f"{rel(path)}: {name}" for name in OUTSIDE if name in text]
    assert not hits, hits


def test_the_docs_speak_to_a_reader_who_was_not_there():
    hits = []
    for path in DOCS:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            hits += [f"{rel(path)}:{n}: {line.strip()[:100]}" for pattern in CONTEXT if pattern.search(line)]
    assert not hits, hits


def test_every_markdown_link_and_image_resolves():
    missing = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file_part, _, anchor = target.partition("#")
            if file_part and not (path.parent / file_part).exists():
                missing.append(f"{rel(path)}: {target}")
            if anchor and not file_part and f"#{anchor}" not in headings_anchors(text):
                missing.append(f"{rel(path)}: #{anchor}")
    assert not missing, missing


def headings_anchors(text: str) -> set[str]:
    """GitHub's anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(f"#{slug}")
    return out


#: markdown files the program writes (not files of the repository)
WRITTEN = {"summary.md"}


def test_every_md_file_a_doc_names_exists():
    missing = []
    for path in DOCS:
        for name in set(re.findall(r"(?<![\w/.])((?:docs/)?[A-Za-z0-9_]+\.md)\b", path.read_text(encoding="utf-8"))):
            if name not in WRITTEN and not ((ROOT / name).exists() or (ROOT / "docs" / name).exists()):
                missing.append(f"{rel(path)}: {name}")
    assert not missing, missing


# -- commands ------------------------------------------------------------------------------------
PROGRAM = ("python app.py", "calf-ecs", "xvfb-run -a python app.py")


def commands(path: Path) -> list[str]:
    """Every command in a shell block, and every inline `python ...` command of the prose."""
    text = path.read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("  #")[0].split(" # ")[0].strip()
            for part in (p.strip() for p in line.split("&&")):
                if part.startswith(("python ", "calf-ecs", "xvfb-run")) and not part.startswith("python -m "):
                    out.append(part)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`]+)`", prose):
        span = " ".join(span.split())
        if not span.startswith(("python app.py ", "python bench/", "python experiments/", "calf-ecs ")):
            continue
        words = span.split()
        if "..." in span or any(PLACEHOLDER.fullmatch(w) for w in words[2:]):
            continue  # a pattern in the prose (`--seed S`, `--baseline ...`), not a command to run
        if len(words) == 3 and words[2] in ("sweep", "report"):
            continue  # the subcommand's name
        out.append(span)
    return out


#: an argument that stands for a value the reader supplies: S, DIR, N, PATH, K, E, FILE.toml
PLACEHOLDER = re.compile(r"[A-Z][A-Z_]*(\.[a-z]+)?")


ALL_COMMANDS = sorted({(rel(path), cmd) for path in DOCS for cmd in commands(path)})


def test_the_docs_have_commands_to_check():
    assert len(ALL_COMMANDS) > 60


@pytest.fixture
def example_plugin(tmp_path, monkeypatch):
    """docs/EXTENDING.md's first example, written where its commands expect it (they run from its folder)."""
    text = (ROOT / "docs" / "EXTENDING.md").read_text(encoding="utf-8")
    (tmp_path / "mysystems").mkdir()
    for block in re.findall(r"```python\n(.*?)```", text, re.S):  # every plugin file the page shows
        match = re.match(r"# mysystems/(\w+\.py)\n", block)
        if match:
            (tmp_path / "mysystems" / match.group(1)).write_text(block)
    assert (tmp_path / "mysystems" / "speed.py").exists()
    # "copy examples/spring_mass.py and change what you need": the environment the docs call mylab.cart:Cart
    (tmp_path / "mylab").mkdir()
    (tmp_path / "mylab" / "__init__.py").write_text("")
    spring = (ROOT / "examples" / "spring_mass.py").read_text(encoding="utf-8")
    (tmp_path / "mylab" / "cart.py").write_text(spring + "\n\nclass Cart(SpringMass):\n    pass\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("where, command", ALL_COMMANDS, ids=[f"{w}: {c[:70]}" for w, c in ALL_COMMANDS])
def test_every_documented_command_parses_as_written(where, command, example_plugin, monkeypatch):
    argv = shlex.split(command)
    if argv[0] == "xvfb-run":
        argv = argv[2:]
    if argv[:2] == ["python", "app.py"] or argv[0] == "calf-ecs":
        check_program(argv[2:] if argv[0] == "python" else argv[1:])
    else:
        assert argv[0] == "python", command
        check_script(argv[1], argv[2:])


def check_program(argv: list[str]) -> None:
    from cli.arguments import overrides_from_args, parse_args
    from cli.subcommands import SUBCOMMANDS
    from plugins.loading import parse_plugin_arg, resolve

    if argv and argv[0] in SUBCOMMANDS:
        import importlib

        importlib.import_module(SUBCOMMANDS[argv[0]]).build_parser().parse_args(argv[1:])
        return
    if argv == ["--help"]:
        return
    args = parse_args(argv)
    cfg = build_config(preset=args.preset, train_preset=args.train_preset, overrides=overrides_from_args(args),
                       extra_plugins=[parse_plugin_arg(p) for p in args.plugin])
    for spec in cfg.plugins:
        resolve(spec)


def check_script(script: str, argv: list[str]) -> None:
    path = ROOT / script
    assert path.is_file(), f"{script} does not exist"
    source = path.read_text(encoding="utf-8")
    for flag in (a.split("=")[0] for a in argv if a.startswith("--")):
        assert f'"{flag}"' in source, f"{script} has no {flag}"


# -- docs/PROBLEM.md ------------------------------------------------------------------------------
PROBLEM = ROOT / "docs" / "PROBLEM.md"


def default_of(dotted: str):
    section, key = dotted.split(".")
    return getattr(getattr(build_config(), section), key)


def same(doc_value: str, actual) -> bool:
    try:
        return float(doc_value.replace(" ", "")) == float(actual)
    except ValueError:
        return doc_value.strip("`\"") == str(actual)


def test_problem_md_states_the_programs_defaults():
    text = PROBLEM.read_text(encoding="utf-8")
    checked = 0
    for keys, value in re.findall(r"`(\w+\.\w+)` \(([-\d.]+)\)", text):  # `env.goal_epsilon` (0.05)
        assert same(value, default_of(keys)), (keys, value)
        checked += 1
    for keys, value in re.findall(r"`(\w+\.\w+)` = ([-\d.]+)\b", text):  # `visual.trail_max_length` = 600
        assert same(value, default_of(keys)), (keys, value)
        checked += 1
    for row in re.findall(r"^\| ((?:`\w+\.\w+`(?:, )?)+) \| ([^|]+) \|", text, re.M):  # TD3 table
        keys = re.findall(r"`(\w+\.\w+)`", row[0])
        values = [v.strip() for v in row[1].split(",")]
        assert len(keys) == len(values), row
        for k, v in zip(keys, values):
            assert same(v, default_of(k)), (k, v)
            checked += 1
    assert checked >= 20
    every = {f"{n}.{f.name}" for n, cls in SECTIONS.items() for f in attrs.fields(cls)}
    assert set(re.findall(r"`(\w+\.\w+)`", text)) <= every | {"checkpoint.pt", "episodes.csv", "eval.csv"}


def test_problem_md_presets_are_the_programs():
    text = PROBLEM.read_text(encoding="utf-8")
    for presets, header in ((VISUAL_PRESETS, "| visual preset |"), (TRAINING_PRESETS, "| training preset |")):
        table = text[text.index(header):].split("\n\n")[0].splitlines()
        keys = re.findall(r"`(\w+)\.(\w+)`", table[0])
        for row in table[2:]:
            cells = [c.strip() for c in row.strip("|").split("|")]
            name = re.match(r"`(\w+)`", cells[0]).group(1)
            expected = build_config(preset=name) if presets is VISUAL_PRESETS else build_config(train_preset=name)
            for (section, key), cell in zip(keys, cells[1:]):
                assert same(cell, getattr(getattr(expected, section), key)), (name, section, key, cell)
        assert len(table) - 2 == len(presets)


def test_problem_md_nominal_policy_figures_are_what_the_script_measures():
    from bench.nominal_reach import reach

    text = " ".join(PROBLEM.read_text(encoding="utf-8").split())
    pm = reach("point_mass", 1000, 0, {})
    weak = reach("point_mass", 1000, 0, {"env": {"pd_kd": 0.4}})
    dd = reach("differential_drive", 1000, 0, {})
    assert pm["reached"] == 1.0
    assert f"{100 * weak['reached']:.1f} % reach the goal within 750 steps" in text
    assert f"in {pm['median_steps']:.0f} steps at the median ({pm['max_steps']} at most)" in text
    assert f"from {100 * dd['reached']:.1f} % of the starts within 750 steps (median {dd['median_steps']:.0f})" in text
