"""Concept heads trained on stored embeddings and measured with nested cross-validation."""
