"""The HUD as a new user reads it: every line fits the 46-column sidebar at its longest, a step taken
while paused shows at once, a rate of nothing is '-', the dwell is named, a gain says which way is
better. (The same longest texts are rendered at 1280x720 and 1600x900 in tests/test_render.py.)"""
import pytest

from components.agent_table import AgentTable
from components.inspection import Inspection
from components.resources import HudLines
from components.training_stats import TrainingStats
from components.view_state import HudText, Selection, ViewState
from systems.evaluation import gain_words, hud_line
from systems.hud_text import SIDEBAR_COLUMNS, fold, inspect_text, stats_text
from tests import hud_extremes
from components.modes import Mode
from tests.test_inspection import calf_world
from tests.view_worlds import view_world
from view import controls


def widest(text):
    return max(len(line) for line in text.split("\n"))


@pytest.mark.parametrize("name", ["stats", "scale", "timeline", "learning", "inspect", "profiler", "messages"])
def test_every_hud_text_at_its_longest_fits_the_sidebar(name):
    text = hud_extremes.texts()[name]
    assert widest(text) <= SIDEBAR_COLUMNS, text


def test_numbers_at_any_magnitude_keep_their_columns():
    """Extreme numbers take an exponent form in their own columns: no line grows, none is folded."""
    typical = hud_extremes.stats_values(system="point_mass", warp="1", paused=False, episode=12, episodes_total=500,
                                        total_steps=8432, visual_agents=30, episode_return=-35.2, episode_length=123,
                                        mean_return_10=-40.5, buffer_size=8432, critic_loss=0.01, actor_loss=1.5,
                                        q=-2.0, q_cert=-2.5, required=0.02, state_norm=0.5, kappa_low=0.002,
                                        kappa_up=250.0, grid_q_range=(-9.0, -0.1), grid_refreshes=4, faults={})
    extreme = hud_extremes.stats_values(system="point_mass", faults={})
    assert len(stats_text(extreme).split("\n")) == len(stats_text(typical).split("\n"))
    assert widest(stats_text(extreme)) <= SIDEBAR_COLUMNS
    assert "1e+15" in stats_text(extreme)  # a step count past its 10 columns


def test_fold_keeps_every_character_and_indents_continuations():
    line = "eval @ep 10: success 98%, return -412 (13.0 % better than nominal), certified 61%"
    out = fold([line, "short"])
    assert out[-1] == "short" and all(len(x) <= SIDEBAR_COLUMNS for x in out)
    assert all(x.startswith("  ") for x in out[1:-1])
    assert " ".join(x.strip() for x in out[:-1]) == line


def test_plugin_and_evaluation_lines_under_the_stats_fold_to_the_sidebar():
    world = view_world(agents=2)
    world.resource(HudLines)["evaluation"] = hud_line(hud_extremes.longest_eval())
    world.resource(HudLines)["MyPlugin"] = "MyPlugin: " + "a long figure 0.123456, " * 6
    world.run(2)
    text = world.resource(HudText).stats
    assert widest(text) <= SIDEBAR_COLUMNS
    assert "MyPlugin:" in text and "certified 100%" in text
    world.shutdown()


def test_a_single_step_while_paused_updates_the_hud_at_once():
    """The HUD text is rebuilt every 5 frames; N while paused must show its step at once, and so
    must the inspection panel (it said 'no step yet' until the fifth press)."""
    world = calf_world(agents=3)
    world.run(7)
    view = world.resource(ViewState)
    table = world.resource(AgentTable)
    stats_system = world.system("StatsSystem")
    controls.press(world, "p")
    stats_system.process(world, 0.0)  # paused: the loop renders without stepping (RenderSystem.render_paused)
    controls.press(world, "c")  # inspect the training agent
    stats_system.process(world, 0.0)
    hud = world.resource(HudText)
    assert "no step yet" in hud.texts["inspect"]
    steps = world.resource(TrainingStats).total_steps
    for k in range(1, 4):  # each N press: one step, shown the same frame
        controls.press(world, "n")
        assert view.paused and view.step_requests == 1
        view.step_requests -= 1
        world.step(1)  # what the rendered loop does for N
        assert f"steps {steps + k:>10}" in hud.stats, hud.stats.split("\n")[1]
        info = world.resource(Inspection)
        assert info.steps_seen == k
        assert "no step yet" not in hud.texts["inspect"]
        assert f"step {info.episode_step:>6}" in hud.texts["inspect"]
        assert f"Q {info.q:9.4f}" in hud.texts["inspect"]
    assert int(table.entity[table.training_row]) == world.resource(Selection).entity
    world.shutdown()


def test_rates_of_nothing_are_a_dash_not_zero():
    world = view_world(agents=2)
    world.run(3)  # no episode has ended, the nominal policy decides (the filter decided no step)
    text = world.resource(HudText).stats
    assert world.resource(TrainingStats).episodes == 0
    assert "success     - %" in text and "0.0 %" not in text
    world.shutdown()


def test_a_step_held_by_the_dwell_is_named_not_failed():
    base = hud_extremes.inspect_values(entity=7, state=[0.1, 0.2, 0.3], q=-2.0, q_cert=-2.5, decrease=0.5,
                                       required=0.01, decrease_ok=True, low_ok=True, up_ok=True,
                                       kappa_low=0.001, kappa_up=100.0, neg_q=2.0, state_norm=0.4, episode_step=12)
    held = inspect_text({**base, "held": 37, "test_passed": True, "certified": False})
    assert "certificate: held by the dwell" in held and "37 steps left, the test alone passes" in held
    assert "fails" not in held
    assert "1 step left, the test alone fails" in inspect_text({**base, "held": 1, "test_passed": False,
                                                                "certified": False})
    free = inspect_text({**base, "held": 0, "test_passed": False, "certified": False})
    assert "certificate: fails" in free and "dwell" not in free
    assert "certificate: holds" in inspect_text({**base, "held": 0, "test_passed": True, "certified": True})


def _panel_once(calf, until, frames):
    """Inspect the third agent of a fresh calf_world until `until(info)` holds (at most `frames`
    steps): (its Inspection, the panel's text then); the world is shut down."""
    world = calf_world(agents=6, calf=calf)
    world.resource(Selection).select(int(world.resource(AgentTable).entity[2]))
    info = world.resource(Inspection)
    for _ in range(frames):
        world.step()
        if until(info):
            break
    text = inspect_text(world.system("StatsSystem").inspect_values(world))
    world.shutdown()
    return info, text


def test_the_panel_of_a_held_agent_says_so():
    info, text = _panel_once({"fallback_dwell": 1.0, "nominal_reach_check": 0.0}, lambda i: i.held, 600)
    assert info.held > 0, "no dwell in 600 steps"
    assert "held by the dwell" in text and f"{info.held} step" in text
    assert info.certified is False and info.test_passed is not None


def test_the_panel_of_an_agent_the_reach_check_handed_over_says_so():
    """60-step episodes: from most starts the nominal policy cannot finish in 0.6 s, so the check hands
    them over at once; the panel says why the nominal acts, and the step is not certified."""
    info, text = _panel_once({"nominal_reach_check": 0.05, "fallback_dwell": 0.0},
                             lambda i: i.reach_hold == "handed over", 200)
    assert info.reach_hold == "handed over" and info.mode == Mode.FALLBACK and info.certified is False
    assert "reach check: the nominal\n  policy finishes this episode" in text


def test_a_return_gain_says_which_way_is_better():
    assert gain_words(0.131) == "13.1 % better than nominal"
    assert gain_words(-0.03, 0) == "3 % worse than nominal"
    assert gain_words(0.0001, 0) == "level with nominal"


def test_exploration_outside_the_filter_is_said_on_the_hud():
    """td3.explore = "executed" (noise on the nominal's fallbacks too) is an opt-in the HUD names."""
    outside = stats_text(hud_extremes.stats_values(explore="executed"))
    inside = stats_text(hud_extremes.stats_values(explore="actor"))
    assert "outside CALF" in outside and "outside CALF" not in inside
    assert widest(outside) <= SIDEBAR_COLUMNS
