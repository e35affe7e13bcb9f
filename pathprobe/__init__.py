"""pathprobe: find the effective MTU/MSS on each leg of a proxied path."""

__version__ = "0.1.0"
