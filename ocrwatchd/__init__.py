"""ocrwatchd: an OCR daemon that watches inbox folders and writes every text line of each scan as JSON."""

__version__ = "0.1.0"
