"""The training loop, batching, checkpoints and the run orchestration."""
