"""Exports of a generator for other runtimes: the streaming step as ONNX (onnx_step).
onnx is imported only while an export runs."""
