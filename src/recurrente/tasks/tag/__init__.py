"""Sequence tagging (many-to-many, aligned): a tag for every word.

``options.py`` the tagger's options and their checks; ``data.py`` CoNLL files, vocabularies and
batches; ``metrics.py`` entity precision, recall and F1; ``crf.py`` the linear-chain CRF;
``model.py`` the tagger (:class:`~recurrente.tasks.tag.model.SequenceTagger`); ``inference.py``
tagging encoded sentences and raw text, and scoring a model; ``task.py`` the registered task
(its spec, ``prepare``, ``build``) and its entry points; ``cli.py``, ``export.py``, ``serve.py``
its command line, ONNX graph and server endpoint.
"""
