"""The engine worker: a separate Python with torch that trains and exports for Blender,
speaking length-prefixed JSON frames over stdin/stdout. ``python -m engine.worker``."""
