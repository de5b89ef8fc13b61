"""A small builder of ONNX graphs on ``onnx.helper``: named inputs, constants, one call per
operator, and the vector math the exported graphs share (interpolated table lookups,
quaternions, ground rotations).

onnx is imported when a builder is made, never when this module is imported: the add-on
and the worker import the engine without it.
"""
import numpy as np

OPSET = 17


class GraphBuilder:
    """One ONNX graph in the making, in one float type (``dtype``: float32 or float64)."""

    def __init__(self, name, dtype=np.float32):
        import onnx  # lazy: only an export needs onnx (the add-on never does)
        from onnx import helper, numpy_helper
        self.onnx, self.helper, self.numpy_helper = onnx, helper, numpy_helper
        self.name = name
        self.dtype = np.dtype(dtype)
        self.float_type = helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes, self.inputs, self.outputs, self.initializers = [], [], [], []
        self._count = 0
        self._consts = {}

    # ------------------------------------------------------------ names and values

    def _fresh(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def input(self, name, shape, elem=None):
        """A graph input (float by default; ``elem`` an onnx.TensorProto type)."""
        elem = self.float_type if elem is None else elem
        self.inputs.append(self.helper.make_tensor_value_info(name, elem, list(shape)))
        return name

    def output(self, value, name, shape, elem=None):
        """Expose ``value`` as the graph output ``name``."""
        elem = self.float_type if elem is None else elem
        self.op("Identity", value, out=name)
        self.outputs.append(self.helper.make_tensor_value_info(name, elem, list(shape)))
        return name

    def table(self, array, name):
        """A named initializer (a table of the clip), in the graph's float type unless integer or bool."""
        array = np.asarray(array)
        if array.dtype.kind == "f":
            array = array.astype(self.dtype)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, value, dtype=None):
        """A constant tensor (float in the graph's type unless ``dtype`` says otherwise), shared by value."""
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._consts:
            self._consts[key] = self.table(array, self._fresh("const"))
        return self._consts[key]

    def ints(self, value):
        return self.const(value, np.int64)

    def op(self, op_type, *inputs, out=None, **attrs):
        """One node; returns its output's name."""
        out = out or self._fresh(op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def multi(self, op_type, inputs, count, **attrs):
        """One node with ``count`` outputs; returns their names."""
        outs = [self._fresh(op_type.lower()) for _ in range(count)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, **attrs))
        return outs

    def model(self, metadata=None):
        """The ModelProto, checked; ``metadata``: {key: str} kept in the model's metadata_props."""
        graph = self.helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        model = self.helper.make_model(graph, opset_imports=[self.helper.make_opsetid("", OPSET)],
                                       producer_name="motiondna")
        model.ir_version = 8  # readable by every onnxruntime since 1.10
        for key, value in (metadata or {}).items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        self.onnx.checker.check_model(model, full_check=True)
        return model

    # ------------------------------------------------------------ arithmetic

    def add(self, a, b):
        return self.op("Add", a, b)

    def sub(self, a, b):
        return self.op("Sub", a, b)

    def mul(self, a, b):
        return self.op("Mul", a, b)

    def div(self, a, b):
        return self.op("Div", a, b)

    def where(self, condition, a, b):
        return self.op("Where", condition, a, b)

    def minimum(self, a, b):
        return self.op("Min", a, b)

    def maximum(self, a, b):
        return self.op("Max", a, b)

    def clip(self, x, lo, hi):
        return self.minimum(self.maximum(x, self.const(lo)), self.const(hi))

    def cols(self, x, start, stop, axis=-1):
        """x[..., start:stop] along ``axis``."""
        return self.op("Slice", x, self.ints([start]), self.ints([stop]), self.ints([axis]))

    def split(self, x, sizes, axis=-1):
        """x cut along ``axis`` into consecutive parts of ``sizes``: their names."""
        outs = [self._fresh("part") for _ in sizes]
        self.nodes.append(self.helper.make_node("Split", [x, self.ints(list(sizes))], outs, axis=axis))
        return outs

    def concat(self, parts, axis=-1):
        return self.op("Concat", *parts, axis=axis)

    def reshape(self, x, shape):
        return self.op("Reshape", x, self.ints(shape))

    def unsqueeze(self, x, axes):
        return self.op("Unsqueeze", x, self.ints(axes))

    def squeeze(self, x, axes):
        return self.op("Squeeze", x, self.ints(axes))

    def gather(self, table, index, axis=0):
        return self.op("Gather", table, index, axis=axis)

    def to_int(self, x):
        return self.op("Cast", x, to=self.onnx.TensorProto.INT64)

    def to_float(self, x):
        return self.op("Cast", x, to=self.float_type)

    def sum(self, x, axis, keepdims=True):
        return self.op("ReduceSum", x, self.ints([axis]), keepdims=int(keepdims))

    def norm(self, x, axis=-1, keepdims=True):
        return self.op("Sqrt", self.sum(self.mul(x, x), axis, keepdims))

    def logical_and(self, a, b):
        return self.op("And", a, b)

    # ------------------------------------------------------------ clip tables

    def bracket(self, positions, last):
        """The frames either side of fractional ``positions`` clamped to 0..last, as
        Playback.states_at takes them: (lo, hi) as int64 and the weight of hi."""
        u = self.clip(positions, 0.0, float(last))
        lo = self.minimum(self.op("Floor", u), self.const(float(max(last - 1, 0))))
        hi = self.minimum(self.add(lo, self.const(1.0)), self.const(float(last)))
        return self.to_int(lo), self.to_int(hi), self.sub(u, lo)

    def interpolate(self, table, positions, last, row_axes=1):
        """Rows of ``table`` (F, ...) at fractional ``positions`` of any shape P: (*P, ...);
        ``row_axes``: how many axes a row has (0 for a table of numbers)."""
        lo, hi, w = self.bracket(positions, last)
        if row_axes:
            w = self.unsqueeze(w, list(range(-row_axes, 0)))
        a, b = self.gather(table, lo), self.gather(table, hi)
        return self.add(a, self.mul(self.sub(b, a), w))

    # ------------------------------------------------------------ rotations

    def rotate_ground(self, vec2, theta):
        """features.rotate_ground: ground vectors (..., 2) turned by ``theta`` (...)."""
        c, s = self.op("Cos", theta), self.op("Sin", theta)
        x, y = self.squeeze(self.cols(vec2, 0, 1), [-1]), self.squeeze(self.cols(vec2, 1, 2), [-1])
        rx = self.sub(self.mul(c, x), self.mul(s, y))
        ry = self.add(self.mul(s, x), self.mul(c, y))
        return self.concat([self.unsqueeze(rx, [-1]), self.unsqueeze(ry, [-1])])

    def turn_ground(self, vec2, theta):
        """rotate_ground with ``theta`` keeping a last axis of 1: (..., 2) by (..., 1)."""
        c, s = self.op("Cos", theta), self.op("Sin", theta)
        x, y = self.cols(vec2, 0, 1), self.cols(vec2, 1, 2)
        return self.concat([self.sub(self.mul(c, x), self.mul(s, y)), self.add(self.mul(s, x), self.mul(c, y))])

    def quat_from_6d(self, six):
        """quat.from_6d on (..., 6): the rotation matrix of the first two columns, then its
        quaternion by the best-conditioned of the four formulas (unit, either sign)."""
        a, b = self.cols(six, 0, 3), self.cols(six, 3, 6)
        x = self.div(a, self.maximum(self.norm(a), self.const(1e-9)))
        b = self.sub(b, self.mul(self.sum(self.mul(x, b), -1), x))
        y = self.div(b, self.maximum(self.norm(b), self.const(1e-9)))
        z = self._cross(x, y)
        # The four formulas of quat.from_matrix are linear in the matrix: one product.
        weights, bias = _quaternion_candidates()
        m = self.concat([x, y, z])                                                       # (..., 9): column-major
        candidates = self.add(self.op("MatMul", m, self.const(weights)), self.const(bias))   # (..., 16)
        shape = self.concat([self.cols(self.op("Shape", m), 0, -1, axis=0), self.ints([4, 4])], axis=0)
        stacked = self.op("Reshape", candidates, shape)                                   # (..., 4, 4)
        diagonal = self.gather(candidates, self.ints([0, 5, 10, 15]), axis=-1)           # 4 q_k^2
        best = self.op("ArgMax", diagonal, axis=-1, keepdims=1)
        pick = self.op("Expand", self.unsqueeze(best, [-1]), self.ints([1, 1, 4]))
        q = self.squeeze(self.op("GatherElements", stacked, pick, axis=-2), [-2])
        return self.div(q, self.maximum(self.norm(q), self.const(1e-12)))

    def _cross(self, a, b):
        """a x b on (..., 3) as a_yzx b_zxy - a_zxy b_yzx."""
        yzx, zxy = self.ints([1, 2, 0]), self.ints([2, 0, 1])
        turn = lambda v, order: self.gather(v, order, axis=-1)
        return self.sub(self.mul(turn(a, yzx), turn(b, zxy)), self.mul(turn(a, zxy), turn(b, yzx)))

    def left_multiply(self, quat_matrix, q):
        """The product p * q for quaternions q (..., 4) and a constant p given as its (4, 4)
        left-multiplication matrix (``left_matrix``)."""
        return self.op("MatMul", q, self.const(np.asarray(quat_matrix).T))


def _quaternion_candidates():
    """(weights (9, 16), bias (16,)): the four candidate quaternions (times 4 q_k) of
    quat._from_matrix_general, row k component c at 4 k + c, from the matrix entries
    m[i, j] at 3 j + i (its columns one after the other)."""
    e = lambda i, j: 3 * j + i
    terms = [  # per candidate: per component, ({entry: sign}, constant)
        [({e(0, 0): 1, e(1, 1): 1, e(2, 2): 1}, 1), ({e(2, 1): 1, e(1, 2): -1}, 0),
         ({e(0, 2): 1, e(2, 0): -1}, 0), ({e(1, 0): 1, e(0, 1): -1}, 0)],
        [({e(2, 1): 1, e(1, 2): -1}, 0), ({e(0, 0): 1, e(1, 1): -1, e(2, 2): -1}, 1),
         ({e(0, 1): 1, e(1, 0): 1}, 0), ({e(0, 2): 1, e(2, 0): 1}, 0)],
        [({e(0, 2): 1, e(2, 0): -1}, 0), ({e(0, 1): 1, e(1, 0): 1}, 0),
         ({e(0, 0): -1, e(1, 1): 1, e(2, 2): -1}, 1), ({e(1, 2): 1, e(2, 1): 1}, 0)],
        [({e(1, 0): 1, e(0, 1): -1}, 0), ({e(0, 2): 1, e(2, 0): 1}, 0),
         ({e(1, 2): 1, e(2, 1): 1}, 0), ({e(0, 0): -1, e(1, 1): -1, e(2, 2): 1}, 1)],
    ]
    weights, bias = np.zeros((9, 16)), np.zeros(16)
    for k, candidate in enumerate(terms):
        for c, (entries, constant) in enumerate(candidate):
            for entry, sign in entries.items():
                weights[entry, 4 * k + c] = sign
            bias[4 * k + c] = constant
    return weights, bias


def left_matrix(p):
    """The (4, 4) matrix L with L @ q = p * q (Hamilton product, w first)."""
    w, x, y, z = np.asarray(p, dtype=np.float64)
    return np.array([[w, -x, -y, -z], [x, w, -z, y], [y, z, w, -x], [z, -y, x, w]])
