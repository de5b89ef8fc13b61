"""``motiondna info``: what .mdna generator files hold, read without torch."""
from .. import api
from .common import fmt, need_file


def add_parser(subparsers):
    i = subparsers.add_parser("info", help="what a .mdna generator holds (no torch needed)",
                       description="Print each generator's metadata: skeleton, fps, frames, DNA summary, network, "
                                   "build info, size, format version and source hash.")
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
    s, d, n, b = i["skeleton"], i["dna"], i["network"], i["build"]
    lines = [
        f"{i['path']}",
        f"  format       motiondna.generator v{i['format_version']}, {i['size_bytes'] / 1024:.0f} KB",
        f"  source       {i['source_name']}  sha256 {i['source_hash'][:16]}…",
        f"  clip         {i['frames']} frames at {i['fps']:.3f} fps ({i['duration_s']:.2f} s)",
        f"  skeleton     {s['joints']} joints, root {s['root']}, up {s['up_axis']}",
        f"  DNA          {d['num_codes']} codes (rebuilds joints within {fmt(d['code_error_cm'])} cm"
        + (f", low-pass {1000 * d['code_smooth_s']:.0f} ms" if d.get("code_smooth_s") is not None else "") + "), "
        f"speed {fmt(d['speed_mean_m_s'])} m/s (p95 {fmt(d['speed_p95_m_s'])}), "
        f"rhythm {fmt(d['rhythm_period_s'])} s, loops to frame {d['loop_to']}"
        + (f" from frame {d['loop_from']}" if d.get("loop_from") not in (None, i["frames"] - 1) else "")
        + (f" (every other cycle to {d['restart_to']})" if d.get("restart_to") != d["loop_to"] else ""),
        f"  effectors    {', '.join(d['effectors'])}",
        f"  network      {n['parameters']} parameters, hidden {n['hidden']}, {n['deviation_dims']} deviation dims, "
        f"target slots {', '.join(n['target_slots'])}",
        f"  build        {b.get('steps')} steps in {fmt(b.get('train_seconds'))} s on {b.get('device')}, "
        f"torch {b.get('torch')}, python {b.get('python')}, {b.get('created')}",
    ]
    if joints:
        lines.append(f"  joints       {', '.join(s['names'])}")
    return "\n".join(lines)
