"""Export trained runs: ONNX graphs with their vocabularies and a manifest, parity-checked."""

# The ONNX opsets an export may ask for, first and last: torch's TorchScript exporter writes up
# to 20, and a translator's attention needs Einsum, from opset 12 (measured for every task's
# graphs: 12, 13, 14 and 20 export and pass the parity check; below 12 the translator fails).
OPSETS = (12, 20)
