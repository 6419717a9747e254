"""vericount: count the distinct people in a pile of footage, with a lower bound anyone can audit."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vericount")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
