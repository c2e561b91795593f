"""Which group an agent belongs to, stored per row in the agent table's `group` column (int8).

- LEARNER: explores, feeds the replay buffer (with `training.collect = "all"`; the training agent
  always) and counts in the learners' statistics. The training agent is a learner.
- COHORT: the policy cohort. It replays the current policy exactly as the evaluation runs it: the
  CALF filter without exploration noise and with P_relax 0, from the evaluation's fixed start
  states, never adding to the replay buffer. It is what the view shows as "the learned policy".
"""
from __future__ import annotations

from enum import IntEnum


class Group(IntEnum):
    LEARNER = 0
    COHORT = 1


#: the names used in statistics, files and the HUD, by group
GROUP_NAMES = {Group.LEARNER: "learners", Group.COHORT: "cohort"}
