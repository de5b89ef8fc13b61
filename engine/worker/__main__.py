"""``python -m engine.worker``: run the worker on stdin/stdout until stdin closes."""
import sys

from .server import main

sys.exit(main())
