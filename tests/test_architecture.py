"""The package's module graph: no import cycles at module level, and the layout rules that
ruff also enforces (engine/ never imports Blender; the Blender side and the engine outside
engine/eval never import torch, scipy or matplotlib, which stock Blender lacks), checked
here on every module so they hold without the linter. The ONNX export (engine/export)
imports onnx inside the functions that export, never at module level: the add-on and the
worker import it without onnx."""
import ast
import os
import sys

from conftest import ROOT

TOPS = ("engine", "blender_motiondna", "operators", "panels")
BLENDER_ONLY = ("bpy", "bpy_extras", "mathutils", "addon_utils")
NOT_IN_BLENDER = ("torch", "scipy", "matplotlib", "onnx", "onnxruntime")
LAZY_ONNX = ("onnx", "onnxruntime")   # allowed in engine.export, inside functions only


def package_modules():
    """{module name: path} for the extension package ('' is the root __init__)."""
    out = {"": os.path.join(ROOT, "__init__.py")}
    for top in TOPS:
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith(".py"):
                    rel = os.path.relpath(os.path.join(folder, f), ROOT)[:-3].replace(os.sep, ".")
                    out[rel[: -len(".__init__")] if rel.endswith(".__init__") else rel] = os.path.join(folder, f)
    return out


def imports(name, path, modules, top_level_only):
    """(imported module, line) pairs of one module, relative imports resolved."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module
            for a in node.names:
                full = f"{base}.{a.name}" if base else a.name
                yield (full if full in modules else base), node.lineno


def test_no_import_cycles_at_module_level():
    modules = package_modules()
    graph = {m: {i for i, _ in imports(m, p, modules, True) if i in modules and i != m} for m, p in modules.items()}
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_engine_never_imports_blender_and_blender_never_imports_what_it_lacks():
    modules = package_modules()
    wrong = []
    for m, p in modules.items():
        module_level = {line for _, line in imports(m, p, modules, True)}
        for imported, line in imports(m, p, modules, False):
            top = imported.split(".")[0]
            if m.startswith("engine") and top in BLENDER_ONLY:
                wrong.append(f"{m}:{line} imports {imported}")
            runs_in_blender = m.split(".")[0] in ("blender_motiondna", "operators", "panels", "") or (
                m.startswith("engine") and not m.startswith("engine.eval"))  # the worker runs in Blender's Python
            lazy_export = m.startswith("engine.export") and top in LAZY_ONNX and line not in module_level
            if runs_in_blender and top in NOT_IN_BLENDER and not lazy_export:
                wrong.append(f"{m}:{line} imports {imported}")
    assert not wrong, wrong


def test_a_cycle_is_found_when_there_is_one(tmp_path, monkeypatch):
    """The cycle check itself: two modules that import each other are reported."""
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "__init__.py").write_text("")
    (tmp_path / "engine" / "a.py").write_text("from . import b\n")
    (tmp_path / "engine" / "b.py").write_text("from .a import x\n")
    (tmp_path / "__init__.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    try:
        test_no_import_cycles_at_module_level()
    except AssertionError as e:
        assert "engine.a -> engine.b -> engine.a" in str(e)
    else:
        raise AssertionError("the cycle was not found")


def test_onnx_is_allowed_in_the_export_only_inside_functions(tmp_path, monkeypatch):
    """engine/export may import onnx lazily (inside a function), never at module level."""
    (tmp_path / "engine" / "export").mkdir(parents=True)
    for init in ("__init__.py", "engine/__init__.py", "engine/export/__init__.py"):
        (tmp_path / init).write_text("")
    (tmp_path / "engine" / "export" / "lazy.py").write_text("def f():\n    import onnx\n    return onnx\n")
    (tmp_path / "engine" / "export" / "eager.py").write_text("import onnx\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    try:
        test_engine_never_imports_blender_and_blender_never_imports_what_it_lacks()
    except AssertionError as e:
        assert "engine.export.eager:1 imports onnx" in str(e) and "lazy" not in str(e)
    else:
        raise AssertionError("the module-level onnx import was not found")
