"""A module's train/eval mode switched for a piece of inference: :func:`evaluating`.

Scoring, decoding and tracing run a model in eval mode (no dropout, and the layers' inference
paths) and leave it as they found it, so a model evaluated in the middle of training goes on
training. The previous mode comes back in a ``finally``: an error inside the block (a sentence
too long, a tensor on the wrong device) does not leave a training model in eval mode.
"""

from contextlib import contextmanager


@contextmanager
def evaluating(model):
    """``model`` in eval mode inside the block, and back in its previous mode (``model.train(
    was_training)``) on the way out, whether the block ends or raises.

    Example::

        with evaluating(model):
            logits = model(ids)
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
