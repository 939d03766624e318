"""Human-readable reports of long jobs (HTML with embedded plots)."""
from __future__ import annotations

from opencoder_jax.report.html_report import render_report, write_report

__all__ = ["render_report", "write_report"]
