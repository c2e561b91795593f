"""The loops: assembling a world from a config, the headless and rendered loops, the view's systems, what a training run resumes and the invariants it keeps."""
