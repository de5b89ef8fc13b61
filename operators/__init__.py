"""MotionDNA operators (``mdna.*``), in registration order."""
from . import build, files, fromtext, generate, play_live, targets

CLASSES = (build.CLASSES + targets.CLASSES + generate.CLASSES + play_live.CLASSES + files.CLASSES
           + fromtext.CLASSES)
