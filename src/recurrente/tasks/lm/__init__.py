"""The language model: next-token classification over a corpus (model, data, inference, task)."""
