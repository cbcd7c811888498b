"""Sequence regression (many-to-one): a real number for a whole text (a review's star rating,
a sentence's reading time).

``options`` holds the flags (:class:`~.options.RegressorOptions`), ``data`` reads a table with a
text column and a number column and batches it, ``metrics`` computes MSE, RMSE, MAE, R² and
Pearson's r from sums, ``model`` is :class:`~.model.SequenceRegressor`, ``inference`` turns texts
into numbers and scores examples, ``task`` registers it (``SPEC``) and trains it, ``cli``,
``serve`` and ``export`` are its command, its endpoint and its ONNX graph.
"""
