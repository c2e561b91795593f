"""CALF's per-step decision, stored as a small integer column (never as tag components)."""
from enum import IntEnum


class Mode(IntEnum):
    CERTIFIED = 0  # the actor's action passed the certificate test
    RELAX = 1  # not certified, but the relax coin let the actor act
    FALLBACK = 2  # not certified: the nominal policy acted (an intervention)


#: Trail/marker colours per mode (RGB in [0, 1]); DOMAIN.md section 2.
MODE_COLORS = {
    Mode.CERTIFIED: (0.3, 0.7, 1.0),
    Mode.RELAX: (0.2, 0.8, 0.3),
    Mode.FALLBACK: (0.9, 0.2, 0.2),
}
#: The training agent, when certified.
TRAINING_CERTIFIED_COLOR = (1.0, 0.9, 0.0)
