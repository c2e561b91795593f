"""Learning experiments: the comparisons behind docs/LEARNING.md and docs/learning_sb3.md, and the configs they run."""
