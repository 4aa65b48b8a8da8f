"""Presentation only: rich tables, JSON, progress bars, PNG plots. Nothing here computes statistics."""
