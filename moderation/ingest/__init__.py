"""An upload's way to scores: the classifier adapter, the queue, claims, batches, the store,
OCR, model versions, training."""
