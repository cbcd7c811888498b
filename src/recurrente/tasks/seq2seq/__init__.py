"""Encoder-decoder (sequence to sequence): an encoder reads the source, a decoder writes the target.

``attention.py`` holds the attention variants (none, Luong's dot and general, Bahdanau's
additive) with masking over padded sources; ``search.py`` the model-agnostic decoders (greedy,
sampling, batched beam search with length normalisation) over a ``step(tokens, state)``
function; ``schedule.py`` teacher forcing and scheduled sampling (Bengio et al. 2015).
"""
