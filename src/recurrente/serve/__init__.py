"""Serve trained runs over HTTP: a FastAPI app (:func:`~recurrente.serve.app.create_app`), one
predictor per task (:mod:`recurrente.serve.predictors`), per-request limits
(:mod:`recurrente.serve.limits`) and a web page (:mod:`recurrente.serve.page`).

Needs the ``serve`` extra (``pip install 'recurrente[serve]'``: FastAPI and uvicorn); importing
this package does not import them.
"""
