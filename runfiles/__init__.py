"""A run's folder and its files: claiming the folder, episodes.csv, eval.csv, the CALF log, TensorBoard, provenance, the reward plot."""
