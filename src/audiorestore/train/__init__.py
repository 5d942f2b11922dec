"""Training: trainer, step functions, checkpoints."""
