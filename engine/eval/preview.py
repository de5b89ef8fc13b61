"""A picture a person can look at: source and generated skeletons side by side at a few
frames, with the targets marked. matplotlib (Agg), no bpy."""
import numpy as np


def _ground_axes(up_axis):
    """Two horizontal axes for a front view: (horizontal, up)."""
    horizontal = [a for a in range(3) if a != up_axis]
    return horizontal[0], up_axis


def render_comparison(path, skeleton, source_pos, generated_pos, frames, targets=(), title="", fps=30.0):
    """Write a PNG: one column per frame, source (grey) and generated (colour) overlaid.

    ``source_pos``/``generated_pos``: (F, J, 3) world positions; ``targets``: engine Targets."""
    import matplotlib  # only for the picture: everything else here runs without it
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h, v = _ground_axes(skeleton.up_axis)
    both = np.concatenate([source_pos[frames], generated_pos[frames]])
    lo, hi = both.min(axis=(0, 1)), both.max(axis=(0, 1))
    pad = 0.08 * (hi - lo).max()
    fig, axes = plt.subplots(1, len(frames), figsize=(3.2 * len(frames), 4.4), squeeze=False)
    for ax, f in zip(axes[0], frames):
        for pos, colour, width, label in ((source_pos[f], "0.65", 3.0, "source"),
                                          (generated_pos[f], "tab:blue", 1.8, "generated")):
            for j, p in enumerate(skeleton.parents):
                if p >= 0:
                    ax.plot([pos[p, h], pos[j, h]], [pos[p, v], pos[j, v]], color=colour, lw=width,
                            solid_capstyle="round", label=label if j == 1 else None)
        for t in targets:
            k = np.flatnonzero(t.frames == f)
            near = np.abs(t.frames - f).min() <= max(1, int(0.05 * fps)) if len(t.frames) else False
            if len(k) or near:
                idx = k[0] if len(k) else int(np.argmin(np.abs(t.frames - f)))
                ax.scatter(t.positions[idx, h], t.positions[idx, v], marker="*", s=220, color="tab:red",
                           zorder=5, label="target")
                g = generated_pos[f, t.joint]
                ax.scatter(g[h], g[v], s=30, color="tab:red", zorder=6, edgecolors="white")
        ax.set_xlim(lo[h] - pad, hi[h] + pad)
        ax.set_ylim(lo[v] - pad, hi[v] + pad)
        ax.set_aspect("equal")
        ax.set_title(f"frame {f}")
        ax.set_xticks([])
        ax.set_yticks([])
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        hh, ll = ax.get_legend_handles_labels()
        for a, b in zip(hh, ll):
            if b not in labels:
                handles.append(a)
                labels.append(b)
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
