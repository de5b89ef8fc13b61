"""Reaching targets: inverse kinematics and the whole-body refinement with foot locks."""
