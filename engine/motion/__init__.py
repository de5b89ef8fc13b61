"""Motion math in numpy: quaternions, skeletons and motions, features, filters, joint
targets, foot contacts and the measures of a motion (body-span units, the evaluation's metrics)."""
