"""The trainer on a tiny synthetic task: learning, clipping, stopping rules, failures, Ctrl-C."""

import json
import math

import pytest
import torch
from torch import nn

from recurrente.errors import UserError
from recurrente.train import checkpoint
from recurrente.train.callbacks import Checkpointer, MetricsLog
from recurrente.train.optim import cosine_factor, wsd_factor
from recurrente.train.config import TrainConfig
from recurrente.train.trainer import Trainer


class Regression(nn.Module):
    """y = x·w* + noise; loss as a sum with a count, per the task contract."""

    def __init__(self, nan_at_step=None):
        super().__init__()
        self.linear = nn.Linear(4, 1)
        self.calls, self.nan_at_step = 0, nan_at_step

    def loss(self, batch, state=None):
        self.calls += self.training  # training steps only; evaluation runs in eval mode
        x, y = batch
        loss_sum = ((self.linear(x).squeeze(-1) - y) ** 2).sum()
        if self.training and self.calls == self.nan_at_step:
            loss_sum = loss_sum * float("nan")
        return loss_sum, y.numel(), None

    def config(self):
        return {}


class Batches:
    carries_state = False

    def __init__(self, n=20):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 16, 4, generator=g)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0])

    def __len__(self):
        return len(self.x)

    def epoch(self, e, start=0):
        return ((self.x[i], self.y[i]) for i in range(start, len(self)))


def evaluate_on(batches):
    def evaluate(task):
        task.eval()
        with torch.no_grad():
            total = sum(float(task.loss(b)[0]) for b in batches.epoch(0))
        return {"loss": total / (len(batches) * 16)}
    return evaluate


def test_learns_and_logs(tmp_path):
    batches = Batches()
    trainer = Trainer(Regression(), batches, TrainConfig(epochs=15, lr=0.05, eval_every=50,
                                                         log_every=5),
                      evaluate_on(batches), callbacks=[MetricsLog(tmp_path / "m.jsonl", 5)])
    progress = trainer.fit()
    assert progress.stop_reason == "epochs" and progress.step == 300
    assert progress.best < 0.01  # from about 14 at initialisation
    lines = [json.loads(l) for l in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert all(len(l["grad_norms"]) == 5 for l in lines if "grad_norms" in l)


def test_clipping_logs_the_norm_before_clipping():
    trainer = Trainer(Regression(), Batches(), TrainConfig(max_steps=1, clip=1e-3, lr=1e-9))
    record = trainer.train_step(next(iter(Batches().epoch(0))))
    assert record["grad_norm"] > 1.0 and record["clipped"]


def test_early_stopping_and_time_budget():
    batches = Batches()
    trainer = Trainer(Regression(), batches, TrainConfig(max_steps=10_000, lr=1e-9,
                                                         eval_every=1, patience=3),
                      evaluate_on(batches))
    assert trainer.fit().stop_reason == "early stopping"
    trainer = Trainer(Regression(), batches, TrainConfig(time_budget=0.2, lr=0.01))
    progress = trainer.fit()
    assert progress.stop_reason == "time budget" and progress.elapsed >= 0.2


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    batches = Batches()
    trainer = Trainer(Regression(nan_at_step=7), batches, TrainConfig(max_steps=50, eval_every=2),
                      evaluate_on(batches), callbacks=[Checkpointer(tmp_path)])
    with pytest.raises(UserError, match="step 7.*nan.*last good checkpoint"):
        trainer.fit()
    state = torch.load(tmp_path / "last" / "trainer_state.pt", weights_only=True)
    assert state["progress"]["step"] == 6
    model = Regression()
    checkpoint.load_last(tmp_path, model)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_cosine_schedule_warms_up_then_decays():
    assert cosine_factor(0.0, 0.1) < 0.01 and math.isclose(cosine_factor(0.1, 0.1), 1.0)
    assert math.isclose(cosine_factor(1.0, 0.1), 0.1)
    assert cosine_factor(0.5, 0.1) > cosine_factor(0.9, 0.1)


def test_wsd_schedule_rises_holds_then_falls_to_zero():
    rates = [wsd_factor(p / 100, 0.02) for p in range(101)]
    assert rates[0] <= 1e-3 and math.isclose(rates[1], 0.5)
    assert all(math.isclose(r, 1.0) for r in rates[2:81])  # stable from 2% to 80% of the run
    assert math.isclose(rates[90], 0.5) and rates[100] <= 1e-3
    assert all(a >= b for a, b in zip(rates[80:], rates[81:]))


def test_bad_configuration_gets_one_sentence():
    with pytest.raises(UserError, match="at least one of"):
        TrainConfig().validate()
    with pytest.raises(UserError, match="unknown optimizer"):
        Trainer(Regression(), Batches(), TrainConfig(max_steps=1, optimizer="lion"))
