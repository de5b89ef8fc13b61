"""``python -m blender_motiondna ...`` with the bpy module: the MotionDNA CLI."""
import sys

if __name__ == "__main__":
    from blender_motiondna.bootstrap import load_extension_package

    load_extension_package()
    from motiondna.blender_motiondna import cli

    sys.exit(cli.main())
