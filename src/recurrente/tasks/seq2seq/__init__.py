"""Encoder-decoder (sequence to sequence): an encoder reads the source, a decoder writes the target.

``options.py`` the translator's options and their checks; ``data.py`` pairs, splits,
vocabularies and batches; ``metrics.py`` BLEU, chrF, exact match and error rates;
``attention.py`` the attention variants (none, Luong's dot and general, Bahdanau's additive)
with masking over padded sources; ``decoder.py`` the attentive decoder with input feeding, one
step at a time; ``search.py`` the model-agnostic decoders (greedy, sampling, batched beam search
with length normalisation) over a ``step(tokens, state)`` function; ``model.py`` the translator
(:class:`~recurrente.tasks.seq2seq.model.Seq2Seq`: encoder, bridge, loss, decoding; teacher
forcing and scheduled sampling, Bengio et al. 2015, from :mod:`recurrente.train.teacher_forcing`);
``inference.py`` translating and scoring sentences; ``task.py`` the registered task (its spec,
``prepare``, ``build``) and its entry points; ``cli.py``, ``export.py``, ``serve.py`` its command
line, ONNX graphs and server endpoint.
"""

NAME = "translate"  # the task's name; the folder names the architecture
