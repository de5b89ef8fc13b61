"""The add-on's state in a scene: properties, preferences, target empties, the generator
stored in an armature, building, baking, live regeneration and the quality report."""
