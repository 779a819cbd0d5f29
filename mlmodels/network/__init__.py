"""The ImageNet network at run time: MobileNetV2, its engines, preprocessing and files."""
