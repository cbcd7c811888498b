"""Serve trained runs over HTTP: a FastAPI app (:func:`~recurrente.serve.app.create_app`), the
predictor base class and the loading (:mod:`recurrente.serve.predictors`), the shared request
bodies (:mod:`recurrente.serve.requests`), per-request limits (:mod:`recurrente.serve.limits`)
and a web page (:mod:`recurrente.serve.page`). What each task answers, and its panel on the
page, is in its own folder: ``recurrente/tasks/<t>/serve.py`` (and ``panel.js``, ``panel.css``).

Needs the ``serve`` extra (``pip install 'recurrente[serve]'``: FastAPI and uvicorn); importing
this package does not import them.
"""
