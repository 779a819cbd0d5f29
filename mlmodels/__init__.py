"""TagLens image classifiers: interface, the converted ImageNet MobileNetV2 and its roll-up."""
