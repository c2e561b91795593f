"""CALF's per-step decision, stored as a small integer column (never as tag components)."""
from enum import IntEnum


class Mode(IntEnum):
    CERTIFIED = 0  # the actor's action passed the certificate test
    RELAX = 1  # not certified, but the relax coin let the actor act
    FALLBACK = 2  # not certified: the nominal policy acted (an intervention)


#: Trail/marker colours per mode (RGB in [0, 1]). The critic surface's bands cover the whole hue
#: circle at middle lightness (translucent over the grey background), so the modes differ from it
#: by lightness and by the one hue it lacks: white, magenta, a dark red. Each stays at least 20
#: CIEDE2000 from every surface band as drawn and from the background, and the four are at least
#: 40 apart (components.colour_difference; tests/test_palette.py).
MODE_COLORS = {
    Mode.CERTIFIED: (1.0, 1.0, 1.0),
    Mode.RELAX: (1.0, 0.0, 1.0),
    Mode.FALLBACK: (0.2, 0.0, 0.0),
}
#: The training agent, when certified (a dark green; its marker is also larger).
TRAINING_CERTIFIED_COLOR = (0.0, 0.3, 0.0)
