"""The environments as batched dynamics (every function takes (n, dim) arrays), their registry
(envs/registry.py: names and 'package.module:ClassName' plugins) and the checks a class must pass."""
from envs.base import Environment, Outcome
from envs.differential_drive import DifferentialDrive
from envs.pendulum import Pendulum
from envs.point_mass import PointMass
from envs.registry import make_environment

__all__ = ["DifferentialDrive", "Environment", "Outcome", "Pendulum", "PointMass", "make_environment"]
