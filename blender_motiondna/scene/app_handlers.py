"""Adding and removing the add-on's ``bpy.app.handlers`` entries: each once, and only ours."""
import bpy


def add(pairs):
    """``pairs``: (handler list name, function), e.g. ("frame_change_post", on_frame_change)."""
    for name, fn in pairs:
        handlers = getattr(bpy.app.handlers, name)
        if fn not in handlers:
            handlers.append(fn)


def remove(pairs):
    for name, fn in pairs:
        handlers = getattr(bpy.app.handlers, name)
        if fn in handlers:
            handlers.remove(fn)
