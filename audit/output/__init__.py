"""Everything a person or CI reads: the HTML report and index, HAR, JUnit XML and SARIF.

All are pure renderers of a result dict (the content of result.json): no browser, no Playwright.
A result from an older run may lack fields; renderers show what is there and never fail on it.
"""

from audit.output.har import write_har
from audit.output.html import render_index, render_report
from audit.output.junit import write_junit
from audit.output.sarif import write_sarif

__all__ = ["render_report", "render_index", "write_har", "write_junit", "write_sarif"]
