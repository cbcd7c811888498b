"""Sequence tagging (many-to-many, aligned): a tag for every word (model, CRF, data, metrics)."""
