"""One document through the engine, as small named stages over a context (after OCRmyPDF's _pipeline.py).

open (documents/) → per page: text layer, or pixels → detect → orientation → recognize → strays → marks →
order → result. I/O happens only at the edges (opening the document here, writing in the caller); the stages in
between are the engine's pure functions. The daemon and the CLI both run exactly this.
"""
from .engine import Engine, EngineSettings
from .result import SCHEMA, build_result, compat_block, line_json
from .run import DocumentContext, process
from .visualize import draw_lines, visualization_jpeg

__all__ = ["SCHEMA", "DocumentContext", "Engine", "EngineSettings", "build_result", "compat_block", "draw_lines",
           "line_json", "process", "visualization_jpeg"]
