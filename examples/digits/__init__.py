"""Train small Flax models on scikit-learn's 8x8 digits under a chosen jaxinit policy.

Models are importable as `examples.digits.models:cnn` (also `mlp`, `lstm`, `gru`).
"""
