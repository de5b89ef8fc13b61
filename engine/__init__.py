"""MotionDNA engine: motion math, the per-clip generator, its training, a torch-free
runtime, file formats, metrics and the benchmark. Never imports bpy; imports torch only
in the modules that train or export (model, train, export, worker)."""
