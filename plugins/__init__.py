"""Code from outside the project (systems and environments) loaded and run behind one boundary that contains its failures."""
