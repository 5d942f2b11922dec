"""Imports every model family module so that each registers itself (keep this list complete)."""
