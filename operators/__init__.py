"""MotionDNA operators (``mdna.*``), in registration order."""
from . import build, files, fromtext, generate, targets

CLASSES = build.CLASSES + targets.CLASSES + generate.CLASSES + files.CLASSES + fromtext.CLASSES
