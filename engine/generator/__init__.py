"""The per-clip generator: the numpy build (the clip, its motion graph, its DNA summary)
and the runtime that plays the clip, variations of it and edits under targets."""
