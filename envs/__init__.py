"""The two environments as batched dynamics (every function takes (n, dim) arrays)."""
from envs.base import Environment, Outcome, make_environment
from envs.differential_drive import DifferentialDrive
from envs.point_mass import PointMass

__all__ = ["DifferentialDrive", "Environment", "Outcome", "PointMass", "make_environment"]
