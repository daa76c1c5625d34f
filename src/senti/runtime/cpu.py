"""CPU settings for scoring and training with PyTorch."""

from __future__ import annotations

_configured = False


def configure_cpu(num_threads: int | None = None) -> None:
    """Use every core and flush denormals: fp32 LSTM throughput has been seen to collapse ~40× from them."""
    import torch  # here, not at import: an n-gram model's scoring path never needs torch

    global _configured
    torch.set_flush_denormal(True)
    if num_threads:
        torch.set_num_threads(num_threads)
    _configured = True


def ensure_configured() -> None:
    """``configure_cpu()`` unless a caller already chose its settings."""
    if not _configured:
        configure_cpu()
