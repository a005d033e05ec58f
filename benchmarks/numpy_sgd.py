"""The plain NumPy mini-batch SGD trainer, the pure-Python reference of the
benchmarks. It lives in the package (``sgdtune._numpy_sgd``) so that the
installed ``sgdtune bench`` command can run it too; see that module."""

from sgdtune._numpy_sgd import LOSSES, SCHEDULES, NumpyMiniBatchSGD

__all__ = ["LOSSES", "SCHEDULES", "NumpyMiniBatchSGD"]
