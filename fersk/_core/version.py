"""The version of fersk (one place: the package metadata reads it from here)."""

__version__ = "0.3.0.dev0"
