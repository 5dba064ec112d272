"""Command-line entry points (installed as console scripts)."""
__all__ = []
