"""MotionDNA UI, in registration order."""
from . import fromtext, sidebar

CLASSES = sidebar.CLASSES + fromtext.CLASSES  # a sub-panel registers after its parent
