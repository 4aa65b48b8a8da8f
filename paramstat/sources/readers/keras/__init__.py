"""Keras / TensorFlow checkpoints (legacy HDF5, Keras 3 .weights.h5 and .keras): classes.py (layer classes,
variables, config), roles.py (roles, fans, PyTorch layout), reader.py (opening and reading)."""
