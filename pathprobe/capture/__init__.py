"""Offline diagnosis of pcap/pcapng captures (``pathprobe analyze``).

``reader`` streams frames from the file, ``tracker`` keeps per-connection TCP
state, ``rules`` turns it into the verdicts of design.md, ``analysis`` glues
them together. Only ``reader``/``analysis`` touch files; the rest is pure.
"""

from pathprobe.capture.analysis import Analysis, analyze_capture
from pathprobe.capture.collector import Filters
from pathprobe.capture.reader import ReadStats, read_frames

__all__ = ["Analysis", "Filters", "ReadStats", "analyze_capture", "read_frames"]
