"""Running calf-ecs: CLI parsing, world assembly, the headless and rendered loops, output files."""
