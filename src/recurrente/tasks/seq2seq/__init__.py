"""Encoder-decoder (sequence to sequence): an encoder reads the source, a decoder writes the target.

``model.py`` the translator (:class:`~recurrente.tasks.seq2seq.model.Seq2Seq`: encoder, bridge,
loss, decoding); ``decoder.py`` the attentive decoder with input feeding, one step at a time;
``attention.py`` the attention variants (none, Luong's dot and general, Bahdanau's additive)
with masking over padded sources; ``search.py`` the model-agnostic decoders (greedy, sampling,
batched beam search with length normalisation) over a ``step(tokens, state)`` function;
``schedule.py`` teacher forcing and scheduled sampling (Bengio et al. 2015); ``data.py`` pairs,
splits, vocabularies and batches; ``inference.py`` translating and scoring sentences;
``metrics.py`` BLEU, chrF, exact match and error rates; ``task.py`` the registered task.
"""
