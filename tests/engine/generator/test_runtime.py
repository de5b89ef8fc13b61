"""The engine builds and generates without torch, scipy, matplotlib or onnx (stock Blender
has none of them, and the worker runs in Blender's own Python)."""
import subprocess
import sys

from conftest import ROOT


def test_build_and_generate_in_a_process_where_torch_cannot_be_imported(tmp_path):
    path = str(tmp_path / "g.mdna")
    code = (
        "import sys\n"
        "for name in ('torch', 'scipy', 'matplotlib', 'onnx', 'onnxruntime'):\n"
        "    sys.modules[name] = None  # any import of them now fails, as in stock Blender\n"
        "sys.path.insert(0, 'tests')\n"
        "from blender_motiondna.bootstrap import load_extension_package\n"
        "load_extension_package()\n"
        "import numpy as np\n"
        "from synthetic import synthetic_clip\n"
        "from motiondna.engine.generator import build\n"
        "from motiondna.engine.generator.runtime import Generator\n"
        "from motiondna.engine.motion.targets import Target\n"
        "from motiondna.engine.worker import server\n"
        "from motiondna.engine.export import onnx_step  # imports onnx only when it exports\n"
        f"build.build_generator(synthetic_clip(60), {path!r})\n"
        f"g = Generator.load({path!r})\n"
        "m = g.generate(num_frames=200, seed=1)\n"
        "p = g.generate().positions()\n"
        "t = g.generate([Target(8, [30], p[30, 8] + 0.05)])\n"
        "assert np.isfinite(m.rotations).all() and np.isfinite(t.rotations).all()\n"
        "assert server.describe_environment()['numpy']\n"
        "print(m.num_frames)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "200"
