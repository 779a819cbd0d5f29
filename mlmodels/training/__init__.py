"""Concept heads trained on stored embeddings and measured with nested cross-validation.

Nothing is imported here, so ``python -m mlmodels.training`` can set thread limits before numpy.
"""
