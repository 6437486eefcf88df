"""PyTorch/numpy reference implementation of restore's engine (docs/engine.md)."""
