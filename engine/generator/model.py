"""The per-step network (torch), trained per clip and run in numpy by engine/generator/runtime.py.

next deviation = decay * deviation + MLP(deviation, DNA code of the next frame, phase,
target features). The *deviation* is the state's offset from the DNA's own frame (in a
small learned-by-PCA subspace of body-wide deviations, see engine/generator/train.py); with no
targets and no deviation the clip replays, so the network's job is to move the body
toward targets in the clip's manner and to bring it back smoothly afterwards. The fixed
``decay`` (a half-life of ~0.15 s) is a stability prior: any error the network makes
fades instead of accumulating over long runs.

The weights are exported as plain arrays (``to_arrays``) in the layout the runtime uses:
the first layer is split into the part that multiplies the deviation, the part that
multiplies the DNA code (precomputed for the whole timeline by the runtime) and the part
that multiplies the target features.
"""
import numpy as np
import torch
from torch import nn

TARGET_FEATURES = 5  # per slot: offset (3), time to target, mask


class Stepper(nn.Module):
    """next = decay * dev + MLP(dev, cond), bounded per coordinate by ``dev_limit``."""

    def __init__(self, dev_dim, code_dim, slots, hidden=128, decay=0.9):
        super().__init__()
        self.dev_dim, self.code_dim, self.slots = dev_dim, code_dim, slots
        self.decay = float(decay)
        cond = code_dim + 1 + slots * TARGET_FEATURES
        self.l1 = nn.Linear(dev_dim + cond, hidden)
        self.l2 = nn.Linear(hidden, hidden)
        self.l3 = nn.Linear(hidden, dev_dim)
        nn.init.zeros_(self.l3.weight)  # start as "fade the deviation": a stable rollout
        nn.init.zeros_(self.l3.bias)
        # Per coordinate, the largest deviation the rollout may hold (set after training
        # from the range it was trained on; infinite until then).
        self.register_buffer("dev_limit", torch.full((dev_dim,), float("inf")))

    def forward(self, dev, cond):
        """dev (B, m), cond (B, code_dim + 1 + slots*5) -> next dev (B, m)."""
        h = torch.relu(self.l1(torch.cat([dev, cond], dim=-1)))
        h = torch.relu(self.l2(h))
        nxt = self.decay * dev + self.l3(h)
        # Min/Max (not Clip): per-coordinate bounds export to ONNX as plain broadcasts.
        return torch.maximum(torch.minimum(nxt, self.dev_limit), -self.dev_limit)

    def to_arrays(self):
        w1 = self.l1.weight.detach().cpu().numpy().T.astype("float32")
        m, k = self.dev_dim, self.code_dim
        return {
            "w1_dev": w1[:m], "w1_code": w1[m:m + k + 1], "w1_target": w1[m + k + 1:],
            "b1": self.l1.bias.detach().cpu().numpy().astype("float32"),
            "w2": self.l2.weight.detach().cpu().numpy().T.astype("float32"),
            "b2": self.l2.bias.detach().cpu().numpy().astype("float32"),
            "w3": self.l3.weight.detach().cpu().numpy().T.astype("float32"),
            "b3": self.l3.bias.detach().cpu().numpy().astype("float32"),
            "dev_limit": self.dev_limit.detach().cpu().numpy().astype("float32"),
        }

    @classmethod
    def from_arrays(cls, arrays, decay):
        """Rebuild the torch module from runtime arrays (used by the ONNX export)."""
        m = arrays["w1_dev"].shape[0]
        k = arrays["w1_code"].shape[0] - 1
        slots = arrays["w1_target"].shape[0] // TARGET_FEATURES
        hidden = arrays["b1"].shape[0]
        net = cls(m, k, slots, hidden, decay)
        w1 = np.concatenate([arrays["w1_dev"], arrays["w1_code"], arrays["w1_target"]], axis=0).T
        with torch.no_grad():
            net.l1.weight.copy_(torch.from_numpy(np.ascontiguousarray(w1, dtype="float32")))
            net.l1.bias.copy_(torch.from_numpy(arrays["b1"].astype("float32")))
            net.l2.weight.copy_(torch.from_numpy(np.ascontiguousarray(arrays["w2"].T, dtype="float32")))
            net.l2.bias.copy_(torch.from_numpy(arrays["b2"].astype("float32")))
            net.l3.weight.copy_(torch.from_numpy(np.ascontiguousarray(arrays["w3"].T, dtype="float32")))
            net.l3.bias.copy_(torch.from_numpy(arrays["b3"].astype("float32")))
            if "dev_limit" in arrays:  # a file without it: unbounded
                net.dev_limit.copy_(torch.from_numpy(arrays["dev_limit"].astype("float32")))
        return net
