"""TagLens image classifiers: interface, the converted ImageNet MobileNetV2 and its roll-up.

Nothing in this package imports Django or the project's apps; see docs/model.md.
"""
