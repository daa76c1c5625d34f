"""Build an ONNX graph from a trained network, op by op, with the weights copied in.

Written with ``onnx.helper`` rather than traced, so the graph uses ONNX's own recurrent ops: ``GRU`` /
``LSTM`` / ``RNN`` with ``sequence_lens``, which ONNX Runtime runs with fused kernels (int8 for LSTM after
quantization) and which handle right padding exactly as the PyTorch network does: the reverse direction of
each row starts at that row's last real token, and outputs past a row's length are zero.

Inputs ``ids`` (B, T) int64 and ``lengths`` (B,) int64, right-padded as ``collate`` makes them; output
``probabilities`` (B, C) float32. Both B and T are dynamic.
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from senti.models.cnn import CNNClassifier
from senti.models.layers import ClassifierHead
from senti.models.mingru import MinGRUClassifier
from senti.models.rnn import RNNClassifier

OPSET = 18
IR_VERSION = 8  # enough for opset 18; newer onnx packages default to IRs older runtimes refuse
# PyTorch stores gates as (r, z, n) for GRU and (i, f, g, o) for LSTM; ONNX wants (z, r, h) and (i, o, f, c).
GATE_ORDER = {"gru": [1, 0, 2], "lstm": [0, 3, 1, 2], "rnn": [0]}
ONNX_OP = {"gru": "GRU", "lstm": "LSTM", "rnn": "RNN"}


class _Graph:
    """Accumulates nodes and initializers; ``op`` returns the name of the node's output."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, value: np.ndarray | torch.Tensor, hint: str = "c") -> str:
        arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs: object) -> str:
        return self.op_outs(op_type, inputs, 1, **attrs)[0]

    def op_outs(self, op_type: str, inputs: list[str], n_out: int, **attrs: object) -> list[str]:
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, **attrs))
        return outs


def to_onnx(net: torch.nn.Module) -> onnx.ModelProto:
    """The ONNX model of an ``RNNClassifier``, ``CNNClassifier`` or ``MinGRUClassifier`` (weights included)."""
    g = _Graph()
    if isinstance(net, RNNClassifier):
        features = _rnn_features(g, net)
    elif isinstance(net, CNNClassifier):
        features = _cnn_features(g, net)
    elif isinstance(net, MinGRUClassifier):
        features = _mingru_features(g, net)
    else:
        raise TypeError(f"ONNX export covers the neural models (RNN, CNN, minGRU), not {type(net).__name__}")
    logits = _head(g, net.classifier, features)
    g.nodes.append(helper.make_node("Softmax", [logits], ["probabilities"], axis=1))
    graph = helper.make_graph(
        g.nodes, "senti",
        inputs=[helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "time"]),
                helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"])],
        outputs=[helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                               ["batch", net.config.num_classes])],
        initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="senti",
                              ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model


def _time_mask(g: _Graph, ids: str, lengths: str) -> str:
    """(T, B, 1) bool: position t holds a real token of row b."""
    t = g.op("Gather", [g.op("Shape", [ids]), g.const(np.array(1, dtype=np.int64))], axis=0)
    pos = g.op("Range", [g.const(np.array(0, dtype=np.int64)), t, g.const(np.array(1, dtype=np.int64))])  # (T,)
    pos = g.op("Unsqueeze", [pos, g.const(np.array([1], dtype=np.int64))])  # (T, 1)
    mask = g.op("Less", [pos, g.op("Unsqueeze", [lengths, g.const(np.array([0], dtype=np.int64))])])  # (T, B)
    return g.op("Unsqueeze", [mask, g.const(np.array([2], dtype=np.int64))])  # (T, B, 1)


def _rnn_features(g: _Graph, net: RNNClassifier) -> str:
    c = net.config
    x = g.op("Gather", [g.const(net.embedding.weight, "embedding"), g.op("Transpose", ["ids"], perm=[1, 0])])  # T,B,E
    seq_lens = g.op("Cast", ["lengths"], to=TensorProto.INT32)
    dirs = 2 if c.bidirectional else 1
    y_h = ""
    for i, fwd in enumerate(net.forward_layers):
        cells = [fwd, net.backward_layers[i]] if c.bidirectional else [fwd]
        w, r, b = _stack_weights(cells, c.cell, c.hidden_size)
        attrs: dict[str, object] = {"hidden_size": c.hidden_size,
                                    "direction": "bidirectional" if c.bidirectional else "forward"}
        if c.cell == "gru":
            attrs["linear_before_reset"] = 1  # PyTorch applies the reset gate after the recurrent matmul
        if c.cell == "rnn":
            attrs["activations"] = ["Tanh"] * dirs
        outs = g.op_outs(ONNX_OP[c.cell], [x, g.const(w, "W"), g.const(r, "R"), g.const(b, "B"), seq_lens], 2,
                         **attrs)
        y, y_h = outs  # (T, D, B, H), (D, B, H)
        y = g.op("Transpose", [y], perm=[0, 2, 1, 3])  # (T, B, D, H)
        x = g.op("Reshape", [y, g.const(np.array([0, 0, dirs * c.hidden_size], dtype=np.int64))])  # (T, B, D*H)
    if c.pooling == "last":
        # ONNX's final states are exactly senti's "last": forward after the last real token, backward after
        # reading back to the first.
        h = g.op("Transpose", [y_h], perm=[1, 0, 2])  # (B, D, H)
        return g.op("Reshape", [h, g.const(np.array([0, dirs * c.hidden_size], dtype=np.int64))])
    return _pool(g, x, _time_mask(g, "ids", "lengths"), c.pooling, net)


def _stack_weights(cells: list[torch.nn.Module], cell: str, hidden: int) -> tuple[np.ndarray, ...]:
    def reorder(t: torch.Tensor) -> np.ndarray:
        a = t.detach().float().cpu().numpy()
        return np.concatenate([a[k * hidden:(k + 1) * hidden] for k in GATE_ORDER[cell]])

    w = np.stack([reorder(m.weight_ih_l0) for m in cells])  # (D, G*H, in)
    r = np.stack([reorder(m.weight_hh_l0) for m in cells])  # (D, G*H, H)
    b = np.stack([np.concatenate([reorder(m.bias_ih_l0), reorder(m.bias_hh_l0)]) for m in cells])  # (D, 2*G*H)
    return w, r, b


def _pool(g: _Graph, x: str, mask: str, pooling: str, net: RNNClassifier | MinGRUClassifier) -> str:
    """Masked pooling over time of ``x`` (T, B, F) → (B, F') as ``RNNClassifier.pool`` does."""
    axes = g.const(np.array([0], dtype=np.int64))
    if pooling == "attention":
        scores = g.op("Add", [g.op("MatMul", [x, g.const(net.attention.weight.T, "att_w")]),
                              g.const(net.attention.bias, "att_b")])  # (T, B, 1)
        scores = g.op("Where", [mask, scores, g.const(np.array(-np.inf, dtype=np.float32))])
        weights = g.op("Softmax", [scores], axis=0)
        return g.op("ReduceSum", [g.op("Mul", [weights, x]), axes], keepdims=0)
    maskf = g.op("Cast", [mask], to=TensorProto.FLOAT)
    total = g.op("ReduceSum", [g.op("Mul", [x, maskf]), axes], keepdims=0)  # (B, F)
    count = g.op("ReduceSum", [maskf, axes], keepdims=0)  # (B, 1)
    mean = g.op("Div", [total, g.op("Max", [count, g.const(np.array(1.0, dtype=np.float32))])])
    if pooling == "mean":
        return mean
    lowest = g.const(np.array(np.finfo(np.float32).min, dtype=np.float32))
    mx = g.op("ReduceMax", [g.op("Where", [mask, x, lowest]), axes], keepdims=0)
    return mx if pooling == "max" else g.op("Concat", [mx, mean], axis=1)


def _mingru_features(g: _Graph, net: MinGRUClassifier) -> str:
    """The folded minGRU: per-word tables gathered for each direction, an ONNX ``Scan`` over time for the
    recurrence (padded steps hold the state: decay 1, input 0), then the RNN's masked pooling."""
    c = net.config
    H, dirs = c.hidden_size, 2 if c.bidirectional else 1
    a_table, b_table = (t.float().numpy() for t in net.folded_tables())  # (V, dirs·H)
    ids_t = g.op("Transpose", ["ids"], perm=[1, 0])  # (T, B)
    mask = _time_mask(g, "ids", "lengths")  # (T, B, 1)
    t = g.op("Gather", [g.op("Shape", ["ids"]), g.const(np.array(1, dtype=np.int64))], axis=0)
    pos = g.op("Unsqueeze", [g.op("Range", [g.const(np.array(0, dtype=np.int64)), t,
                                            g.const(np.array(1, dtype=np.int64))]),
                             g.const(np.array([1], dtype=np.int64))])  # (T, 1)
    lens = g.op("Unsqueeze", ["lengths", g.const(np.array([0], dtype=np.int64))])  # (1, B)
    rev = g.op("Where", [g.op("Less", [pos, lens]),
                         g.op("Sub", [g.op("Sub", [lens, g.const(np.array(1, dtype=np.int64))]), pos]),
                         g.op("Add", [pos, g.op("Mul", [lens, g.const(np.array(0, dtype=np.int64))])])])  # (T, B)
    streams = [ids_t] if dirs == 1 else [ids_t, g.op("GatherElements", [ids_t, rev], axis=0)]
    a = [g.op("Gather", [g.const(a_table[:, d * H:(d + 1) * H], "decay"), s]) for d, s in enumerate(streams)]
    b = [g.op("Gather", [g.const(b_table[:, d * H:(d + 1) * H], "input"), s]) for d, s in enumerate(streams)]
    a = a[0] if dirs == 1 else g.op("Concat", a, axis=2)  # (T, B, dirs·H)
    b = b[0] if dirs == 1 else g.op("Concat", b, axis=2)
    a = g.op("Where", [mask, a, g.const(np.array(1.0, dtype=np.float32))])
    b = g.op("Where", [mask, b, g.const(np.array(0.0, dtype=np.float32))])
    first = g.op("Squeeze", [g.op("Gather", [b, g.const(np.array([0], dtype=np.int64))], axis=0),
                             g.const(np.array([0], dtype=np.int64))])  # (B, dirs·H)
    h0 = g.op("Mul", [first, g.const(np.array(0.0, dtype=np.float32))])
    step = helper.make_graph(
        [helper.make_node("Mul", ["a_t", "h_prev"], ["ah"]), helper.make_node("Add", ["ah", "b_t"], ["h_next"]),
         helper.make_node("Identity", ["h_next"], ["h_out"])], "mingru_step",
        inputs=[helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", dirs * H])
                for n in ("h_prev", "a_t", "b_t")],
        outputs=[helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", dirs * H]) for n in ("h_next", "h_out")])
    last, states = g.op_outs("Scan", [h0, a, b], 2, body=step, num_scan_inputs=2)  # (B, dirs·H), (T, B, dirs·H)
    if c.pooling == "last":  # padded steps held the state: the final one is each direction's last
        return last
    if dirs == 2:
        fwd, bwd = g.op_outs("Split", [states, g.const(np.array([H, H], dtype=np.int64))], 2, axis=2)
        index = g.op("Expand", [g.op("Unsqueeze", [rev, g.const(np.array([2], dtype=np.int64))]),
                                g.op("Shape", [bwd])])
        states = g.op("Concat", [fwd, g.op("GatherElements", [bwd, index], axis=0)], axis=2)
    return _pool(g, states, mask, c.pooling, net)


def _cnn_features(g: _Graph, net: CNNClassifier) -> str:
    x = g.op("Gather", [g.const(net.embedding.weight, "embedding"), "ids"])  # (B, T, E)
    x = g.op("Transpose", [x], perm=[0, 2, 1])  # (B, E, T)
    mask = g.op("Transpose", [_time_mask(g, "ids", "lengths")], perm=[1, 2, 0])  # (B, 1, T)
    t = g.op("Shape", ["ids"], start=1, end=2)
    pooled = []
    for conv in net.convs:
        k = conv.kernel_size[0]
        h = g.op("Conv", [x, g.const(conv.weight, "conv_w"), g.const(conv.bias, "conv_b")],
                 pads=[k // 2, k // 2], kernel_shape=[k])
        h = g.op("Relu", [h])
        # Even widths give one extra column; keep the first T as the PyTorch model does.
        h = g.op("Slice", [h, g.const(np.array([0], dtype=np.int64)), t, g.const(np.array([2], dtype=np.int64))])
        h = g.op("Where", [mask, h, g.const(np.array(0.0, dtype=np.float32))])  # ReLU ≥ 0, so 0 is a safe mask
        pooled.append(g.op("ReduceMax", [h, g.const(np.array([2], dtype=np.int64))], keepdims=0))
    return g.op("Concat", pooled, axis=1)


def _head(g: _Graph, head: ClassifierHead, x: str) -> str:
    if head.dense is not None:
        dense = head.dense[0]
        x = g.op("Relu", [g.op("Gemm", [x, g.const(dense.weight, "dense_w"), g.const(dense.bias, "dense_b")],
                               transB=1)])
    return g.op("Gemm", [x, g.const(head.out.weight, "out_w"), g.const(head.out.bias, "out_b")], transB=1)
