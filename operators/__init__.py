"""MotionDNA operators (``mdna.*``), in registration order."""
from . import build, files, generate, targets

CLASSES = build.CLASSES + targets.CLASSES + generate.CLASSES + files.CLASSES
