"""Sequence classification (many-to-one): a label for a whole text (model, data, metrics, task)."""
