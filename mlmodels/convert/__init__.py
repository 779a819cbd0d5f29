"""Networks rebuilt from their published files: torch weights, Keras MobileNetV2, int8, TF.js."""
