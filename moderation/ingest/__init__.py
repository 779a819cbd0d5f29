"""An upload's way to scores: queue, claims, batches, store, OCR, model versions, training."""
