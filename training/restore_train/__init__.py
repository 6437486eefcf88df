"""PyTorch/numpy reference implementation of restore's engine (DESIGN.md §5)."""
