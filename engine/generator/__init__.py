"""The per-clip generator: motion DNA, the network and its training (torch), the
torch-free runtime and the ONNX export."""
