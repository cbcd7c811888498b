"""Shared fixtures: small sizes, one thread, deterministic seeds."""

import os

import pytest
import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")
# ``auto`` takes the registry's table in tests (results never depend on it, timings would make
# the suite slower and noisier); tests/layers/test_autotune.py turns measuring on where it is the subject.
os.environ["RECURRENTE_AUTOTUNE"] = "0"
torch.set_num_threads(1)

# (name, layer class name, extra constructor kwargs, torch.nn class)
CELLS = [
    ("rnn-tanh", "RNN", {"nonlinearity": "tanh"}, torch.nn.RNN),
    ("rnn-relu", "RNN", {"nonlinearity": "relu"}, torch.nn.RNN),
    ("lstm", "LSTM", {}, torch.nn.LSTM),
    ("gru", "GRU", {}, torch.nn.GRU),
]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
