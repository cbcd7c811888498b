"""Averaged SGD: the mean of the weights since averaging started is what evaluation sees and what
the best checkpoint holds; the raw weights go on training and resume with their average."""

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from recurrente.errors import UserError
from recurrente.train import checkpoint
from recurrente.train.averaging import NONMONO, WeightAverage, check_average
from recurrente.train.callbacks import Checkpointer
from recurrente.train.config import TrainConfig
from recurrente.train.trainer import Trainer


class Pull(nn.Module):
    """One weight pulled towards each batch's value: it differs after every step."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(2))

    def loss(self, batch, state=None):
        return ((self.w - batch) ** 2).sum(), batch.numel(), None

    def config(self):
        return {}


class Targets:
    carries_state = False

    def __len__(self):
        return 100

    def epoch(self, e, start=0):
        return (torch.tensor([float(i), -float(i)]) for i in range(start, len(self)))


def _trainer(tmp_path, values=None, **config):
    seen = []

    def evaluate(task):
        seen.append(task.w.detach().clone())
        value = values[len(seen) - 1] if values else float(task.w.detach().sum())
        return {"loss": value}
    trainer = Trainer(Pull(), Targets(), TrainConfig(**{"optimizer": "sgd", "lr": 0.1,
                                                        "schedule": "constant", **config}),
                      evaluate, callbacks=[Checkpointer(tmp_path)])
    return trainer, seen


def test_the_average_is_the_mean_of_the_weights_since_it_started(tmp_path):
    trainer, seen = _trainer(tmp_path, max_steps=10, eval_every=5, average="0.5")
    steps = []
    for batch in Targets().epoch(0):
        trainer.train_step(batch)
        steps.append(trainer.task.w.detach().clone())
        if trainer.progress.step == 10:
            break
    # fraction done reaches 0.5 at step 5: the average holds the weights after steps 5..10
    assert trainer.average.n == 6
    torch.testing.assert_close(trainer.average.mean[0], torch.stack(steps[4:]).mean(0))
    with trainer.averaged():
        torch.testing.assert_close(trainer.task.w.detach(), torch.stack(steps[4:]).mean(0))
    assert torch.equal(trainer.task.w.detach(), steps[-1])  # the raw weights are back


def test_evaluation_and_the_best_checkpoint_use_the_average(tmp_path):
    trainer, seen = _trainer(tmp_path, values=[2.0, 1.0], max_steps=10, eval_every=5,
                             average="0.2")
    trainer.fit()
    raw = trainer.task.w.detach()
    mean = trainer.average.mean[0]
    assert not torch.equal(raw, mean)
    assert torch.equal(seen[-1], mean)  # the last evaluation saw the average
    saved_best = load_file(str(tmp_path / checkpoint.WEIGHTS))["w"]
    assert len(seen) == 2 and torch.equal(saved_best, mean)  # the best is the last, averaged
    last = load_file(str(tmp_path / checkpoint.LAST / checkpoint.WEIGHTS))["w"]
    assert torch.equal(last, raw)  # the resume point: the raw weights ...
    state = torch.load(tmp_path / checkpoint.LAST / checkpoint.STATE, weights_only=True)
    assert torch.equal(state["average"]["mean"][0], mean)  # ... and their average
    again, _ = _trainer(tmp_path / "again", max_steps=10, eval_every=5, average="0.2")
    again.task.w.data.copy_(last)
    again.load_state_dict(state)
    assert again.average.n == trainer.average.n
    assert torch.equal(again.average.mean[0], mean)


def test_nt_averaging_starts_when_validation_stops_improving(tmp_path):
    values = [5.0, 4.0, 3.0, 2.5, 2.4, 2.3, 2.2, 2.1, 2.6, 2.0, 1.9]
    trainer, _ = _trainer(tmp_path, values=values, max_steps=11, eval_every=1, average="nt")
    trainer.fit()
    averaged = [r.get("averaged", False) for r in trainer.progress.history]
    # evaluation 9 (2.6) is worse than the best before the last NONMONO (2.5 at evaluation 4)
    assert NONMONO == 5 and averaged.index(True) == 9
    assert trainer.average.n == 11 - 9 + 1


def test_averaging_off_changes_nothing(tmp_path):
    trainer, seen = _trainer(tmp_path, max_steps=4, eval_every=2)
    trainer.fit()
    assert not trainer.average.active and torch.equal(seen[-1], trainer.task.w.detach())


@pytest.mark.parametrize("value", ["sometimes", "1.5", "-0.1", "1"])
def test_bad_average_option(value):
    with pytest.raises(UserError, match="--average nt or a fraction"):
        check_average(value)
    with pytest.raises(UserError, match="--average"):
        TrainConfig(max_steps=1, average=value).validate()


def test_weight_average_state_round_trip():
    params = [nn.Parameter(torch.randn(3)), nn.Parameter(torch.randn(2, 2))]
    avg = WeightAverage(params, "0.0")
    assert avg.maybe_start(0.0, [], "loss", "min")
    for _ in range(3):
        with torch.no_grad():
            for p in params:
                p.add_(1.0)
        avg.update()
    other = WeightAverage(params, "0.0")
    other.load_state_dict(avg.state_dict())
    assert other.n == 4 and all(torch.equal(a, b) for a, b in zip(other.mean, avg.mean))
    torch.testing.assert_close(avg.mean[0], params[0].detach() - 1.5)
