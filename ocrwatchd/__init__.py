"""ocrwatchd: an OCR daemon that watches inbox folders and writes every text line of each scan as JSON."""

from pathlib import Path

__version__ = "0.1.0"
# The daemon's configuration file (config.py reads it). Named here so `ocrwatchd detect` can list it in --help
# without importing config.py and pydantic-settings (~35 ms of a process that reads one receipt in ~1.1 s).
DEFAULT_CONFIG = Path("/etc/ocrwatchd/ocrwatchd.toml")
