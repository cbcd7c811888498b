"""Export trained runs: ONNX graphs with their vocabularies and a manifest, parity-checked."""
