"""Sequence tagging: many-to-many aligned outputs, one tag per token.

``crf.py`` holds the linear-chain CRF (partition function, gold score, Viterbi, n-best,
marginals); ``schemes.py`` the span encodings IOB1, BIO (IOB2) and BIOES (IOBES), their
conversion, repair, checking, and the transition masks that constrain the CRF.
"""
