"""The long-dependency lab: why gates help, with numbers and pictures.

- :mod:`recurrente.lab.tasks`: adding problem, copy memory, sequential digits (generated, seeded).
- :mod:`recurrente.lab.model`: the model (a recurrent layer + linear head), batches, evaluation.
- :mod:`recurrente.lab.run`: :func:`run_lab` (every cell at every T under one time budget) and
  :func:`run_gradient_flow`.
- :mod:`recurrente.lab.gradient_flow`: ``‖∂L/∂H_t‖`` against distance, spectral radii, plots.

matplotlib and scikit-learn (the ``lab`` extra) are imported only when a plot or the digits are
asked for.
"""

from recurrente.lab.gradient_flow import gradient_norms, layer_spectral_radii, spectral_radius
from recurrente.lab.run import run_gradient_flow, run_lab
from recurrente.lab.tasks import make_task

__all__ = ["run_lab", "run_gradient_flow", "make_task", "gradient_norms", "spectral_radius",
           "layer_spectral_radii"]
