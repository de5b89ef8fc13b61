"""The runtime must work without torch (Blender never imports it)."""
import subprocess
import sys

from conftest import ROOT, needs_torch


def test_runtime_imports_no_torch(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from engine.generator import runtime, dna\n"
        "from engine.io import generator_file\n"
        "from engine.motion import features\n"
        "assert 'torch' not in sys.modules, 'runtime pulled in torch'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@needs_torch
def test_generate_in_a_torch_free_process(tmp_path):
    """Build with torch in this process, then load and generate where torch is blocked."""
    from synthetic import synthetic_clip

    from motiondna.engine.generator import train
    path = str(tmp_path / "g.mdna")
    train.build_generator(synthetic_clip(60), path, {"steps": 30})
    code = (
        "import sys\n"
        "for name in ('torch', 'scipy', 'matplotlib'):\n"
        "    sys.modules[name] = None  # any import of them now fails, as in stock Blender\n"
        "import numpy as np\n"
        "from engine.generator.runtime import Generator\n"
        "from engine.motion.targets import Target\n"
        f"g = Generator.load({path!r})\n"
        "m = g.generate(num_frames=200)\n"
        "p = g.generate().positions()\n"
        "t = g.generate([Target(8, [30], p[30, 8] + 0.05)])\n"
        "assert np.isfinite(m.rotations).all() and np.isfinite(t.rotations).all()\n"
        "print(m.num_frames)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "200"
