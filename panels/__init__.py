"""MotionDNA UI, in registration order."""
from . import sidebar

CLASSES = sidebar.CLASSES
