"""The language model: next-token classification over a corpus (model, data, inference, task)."""

ORDER = 0  # listed first: the main job
