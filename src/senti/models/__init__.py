"""Networks (recurrent and convolutional) and the registry of named architectures and presets."""

from senti.models.registry import ARCHITECTURES, PRESETS, build_model

__all__ = ["ARCHITECTURES", "PRESETS", "build_model"]
