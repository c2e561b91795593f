"""One file per system. Each processes every agent in whole-array passes."""
