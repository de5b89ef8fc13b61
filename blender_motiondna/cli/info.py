"""``motiondna info``: what .mdna generator files hold, read with numpy only."""
from .. import api
from .common import fmt, need_file


def add_parser(subparsers):
    i = subparsers.add_parser("info", help="what a .mdna generator holds",
                       description="Print each generator's metadata: skeleton, fps, frames, DNA summary, motion "
                                   "graph, build info, size, format version and source hash.")
    i.add_argument("generators", nargs="+", metavar="GENERATOR", help=".mdna files")
    i.add_argument("--joints", action="store_true", help="list every joint name")
    i.add_argument("--json", action="store_true", help="print the metadata as JSON")
    return i


def run(args):
    infos = [api.generator_file_info(need_file(p, "generator file")) for p in args.generators]
    if not args.joints:
        for i in infos:
            i["skeleton"] = {k: v for k, v in i["skeleton"].items() if k != "names"}
    text = "\n\n".join(_info_text(i, args.joints) for i in infos)
    return (infos[0] if len(infos) == 1 else infos), text


def _info_text(i, joints):
    s, d, g, b = i["skeleton"], i["dna"], i["graph"], i["build"]
    tolerance = g.get("tolerance_m")
    lines = [
        f"{i['path']}",
        f"  format       motiondna.generator v{i['format_version']}, {i['size_bytes'] / 1024:.0f} KB",
        f"  source       {i['source_name']}  sha256 {i['source_hash'][:16]}…",
        f"  clip         {i['frames']} frames at {i['fps']:.3f} fps ({i['duration_s']:.2f} s)",
        f"  skeleton     {s['joints']} joints, root {s['root']}, up {s['up_axis']}",
        f"  DNA          speed {fmt(d['speed_mean_m_s'])} m/s (p95 {fmt(d['speed_p95_m_s'])}), "
        f"rhythm {fmt(d['rhythm_period_s'])} s",
        f"  effectors    {', '.join(d['effectors'])}",
        f"  contacts     {', '.join(d.get('contacts') or ['none (the clip never touches the ground)'])}",
        f"  graph        {g.get('smooth_jumps', '?')} smooth transitions (jumps within "
        f"{fmt(100 * tolerance if tolerance is not None else None)} cm), {g['candidates']} candidates a frame, "
        f"blend half-life {fmt(g.get('half_life_s'))} s, mean stretch {fmt(g.get('mean_stretch_s'))} s",
        f"  build        {fmt(b.get('build_seconds'))} s, python {b.get('python')}, {b.get('created')}",
    ]
    if joints:
        lines.append(f"  joints       {', '.join(s['names'])}")
    return "\n".join(lines)
