"""The ImageNet network at run time: the converted MobileNetV2 (and EfficientNet-Lite0), its
engines (TFLite, Keras), preprocessing, and the built files it loads."""
