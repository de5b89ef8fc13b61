"""Files: BVH and AMASS/SMPL motions, the pickle-free array container and the ``.mdna``
generator file built on it."""
