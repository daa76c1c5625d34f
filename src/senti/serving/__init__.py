"""HTTP serving: a FastAPI app with micro-batched prediction and a small web page."""

from senti.serving.app import Limits, create_app

__all__ = ["Limits", "create_app"]
