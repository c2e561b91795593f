"""The view's keys as actions on the world and its video, both without a renderer (render/ drives them; tests run them headless)."""
