"""Diagnostics for trained models: what the cells and gates do, and how training went.

* :mod:`~recurrente.diagnostics.traces`: run a model step by step, recording ``H_t``, ``C_t``
  and every gate, recomputed from the layer's weights with the course's equations.
* :mod:`~recurrente.diagnostics.gates`: gate histograms and saturation (< 0.1, > 0.9).
* :mod:`~recurrente.diagnostics.clipping`: gradient norm before clipping and clipped fraction.
* :mod:`~recurrente.diagnostics.spectral`: spectral radius of each gate block of ``W_hh``.
* :mod:`~recurrente.diagnostics.curves`: learning curves in bits and perplexity.
* :mod:`~recurrente.diagnostics.html`: the self-contained HTML view of ``recurrente inspect``.
* :mod:`~recurrente.diagnostics.report`: what ``recurrente inspect`` and ``diagnose`` run.

Nothing is imported here, so ``import recurrente`` stays free of matplotlib.
"""
