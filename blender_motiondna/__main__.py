"""``python -m blender_motiondna ...`` with the bpy module: the MotionDNA CLI."""
import sys

if __name__ == "__main__":
    from blender_motiondna import bootstrap

    with bootstrap.stdout_to_stderr():  # Blender's start-up messages are not results
        bootstrap.load_extension_package()
        from motiondna.blender_motiondna import cli

    bootstrap.run_exit_hooks_and_exit(cli.main(sys.argv[1:]))
