"""The engine worker: a separate Python process (numpy only; Blender's own Python will do)
that builds generators for Blender, speaking length-prefixed JSON frames over
stdin/stdout. ``python -m engine.worker``."""
