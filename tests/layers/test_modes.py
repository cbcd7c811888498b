"""Inference switches a model to eval mode and back (recurrente.layers.modes.evaluating), and the
previous mode comes back when the work inside raises, not only when it ends."""

import numpy as np
import pytest
import torch
from torch import nn

from recurrente.errors import UserError
from recurrente.layers.modes import evaluating
from recurrente.tasks.classify.inference import probabilities
from recurrente.tasks.lm.inference import evaluate_stream


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(2, 2)
        self.drop = nn.Dropout(0.5)


@pytest.mark.parametrize("training", [True, False])
def test_the_mode_comes_back_after_the_block(training):
    model = Tiny().train(training)
    with evaluating(model) as inside:
        assert inside is model
        assert not model.training and not model.drop.training
    assert model.training is training and model.drop.training is training


def test_the_mode_comes_back_after_an_exception_inside_the_block():
    model = Tiny().train()
    with pytest.raises(RuntimeError, match="inside"):
        with evaluating(model):
            assert not model.training
            raise RuntimeError("inside")
    assert model.training and model.drop.training


def test_an_evaluation_that_refuses_its_input_leaves_a_training_model_training():
    """evaluate_stream refuses a text of one token after switching to eval mode; the model a
    trainer handed it must still be in training mode afterwards."""
    model = Tiny().train()
    with pytest.raises(UserError, match="at least 2 tokens"):
        evaluate_stream(model, torch.tensor([3]))
    assert model.training and model.drop.training


class Failing(Tiny):
    """A classifier-shaped model whose forward fails (as a batch on the wrong device would)."""
    num_classes = 2

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(5, 2, padding_idx=0)

    def forward(self, ids, lengths):
        assert not self.training
        raise RuntimeError("forward failed")


def test_a_batch_that_fails_inside_inference_leaves_a_training_model_training():
    model = Failing().train()
    with pytest.raises(RuntimeError, match="forward failed"):
        probabilities(model, [np.array([1, 2, 3])])
    assert model.training and model.drop.training
