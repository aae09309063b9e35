"""UU PDP subject access report (Pasal 7 and 32): for one NIK, everything held about the person
and the processing trail, as JSON, a web page and a PDF.

report.py gathers it, render.py puts it in words (web page helpers and the PDF), routes.py
serves it (create_app registers its blueprints).
"""

from app.subject_access.report import REASON, UnknownNik, build_report
from app.subject_access.routes import api_bp, page_bp

__all__ = ["REASON", "UnknownNik", "api_bp", "build_report", "page_bp"]
