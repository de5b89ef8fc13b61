"""A picture a person can look at: source and generated skeletons side by side at a few
frames, with the targets marked. matplotlib (Agg), no bpy."""
import numpy as np


def can_draw():
    """True where matplotlib imports (the project's .venv; not Blender's own Python)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


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


CATCH_MARGIN_M = 1.3  # beside the body, in a catch picture


def render_catch(path, skeleton, source_pos, generated_pos, frames, flight, ball, contact_point, hand, up_axis, title="",
                 labels=None):
    """Write a PNG of a catch: one column per frame, seen across the ball's flight (its
    horizontal direction from launch to contact, and up); source (grey) and generated
    (blue) skeletons, the ball's whole path (dotted), the ball at that frame (orange; None
    before its launch), the contact point (red star) and the catching hand (red dot).

    ``source_pos``/``generated_pos``: (F, J, 3) metres; ``frames``: indices into them;
    ``flight``: (K, 3) the ball's path from launch to contact; ``ball``: its position (or
    None) at each of ``frames``; ``hand``: the catching hand's joint; ``labels``: a caption
    per frame (default: its index)."""
    import matplotlib  # only for the picture: everything else here runs without it
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flight = np.asarray(flight, dtype=np.float64)
    across = flight[-1] - flight[0] if len(flight) > 1 else np.eye(3)[(up_axis + 1) % 3]
    across = across.astype(np.float64).copy()
    across[up_axis] = 0.0
    across /= max(np.linalg.norm(across), 1e-9)

    def view(p):
        p = np.asarray(p, dtype=np.float64)
        return np.stack([p @ across, p[..., up_axis]], axis=-1)

    # Framed on the body, the ball's path entering from the side: a throw from metres away
    # would otherwise leave the body a few pixels tall.
    body = np.concatenate([view(source_pos[frames]).reshape(-1, 2), view(generated_pos[frames]).reshape(-1, 2)])
    lo, hi = body.min(axis=0), body.max(axis=0)
    lo[0], hi[0] = lo[0] - CATCH_MARGIN_M, hi[0] + CATCH_MARGIN_M
    near = view(flight)
    near = near[(near[:, 0] >= lo[0]) & (near[:, 0] <= hi[0])]
    if len(near):
        lo[1], hi[1] = min(lo[1], near[:, 1].min()), max(hi[1], near[:, 1].max())
    pad = 0.05 * (hi - lo).max()
    fig, axes = plt.subplots(1, len(frames), figsize=(3.0 * len(frames), 3.6), squeeze=False)
    labels = labels or [f"frame {f}" for f in frames]
    for ax, f, b, caption in zip(axes[0], frames, ball, labels):
        for pos, colour, width, label in ((source_pos[f], "0.7", 3.0, "source"), (generated_pos[f], "tab:blue", 1.8, "generated")):
            v = view(pos)
            for j, p in enumerate(skeleton.parents):
                if p >= 0:
                    ax.plot(v[[p, j], 0], v[[p, j], 1], color=colour, lw=width, solid_capstyle="round",
                            label=label if j == 1 else None)
        path_2d = view(flight)
        ax.plot(path_2d[:, 0], path_2d[:, 1], ":", color="tab:orange", lw=1.2, label="ball path")
        c = view(contact_point)
        ax.scatter(c[0], c[1], marker="*", s=200, color="tab:red", zorder=5, label="contact point")
        if b is not None:
            bv = view(b)
            ax.scatter(bv[0], bv[1], s=70, color="tab:orange", edgecolors="black", zorder=6, label="ball")
        h = view(generated_pos[f, hand])
        ax.scatter(h[0], h[1], s=25, color="tab:red", edgecolors="white", zorder=7, label="catching hand")
        ax.set_xlim(lo[0] - pad, hi[0] + pad)
        ax.set_ylim(lo[1] - pad, hi[1] + pad)
        ax.set_aspect("equal")
        ax.set_title(caption, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    handles, names = [], []
    for ax in axes[0]:
        for a, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in names:
                handles.append(a)
                names.append(lab)
    fig.legend(handles, names, loc="lower center", ncol=6, frameon=False, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.94))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
