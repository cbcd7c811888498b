"""Shared fixtures: small sizes, one thread, deterministic seeds."""

import os

import pytest
import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")
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
