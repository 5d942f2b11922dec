"""Listening tests: a blind rating page (ITU-T P.808 ACR, P.835, ITU-R BS.1534 MUSHRA) and its results.

* :func:`serve` builds a test from a bench report or ``NAME=FOLDER`` sources and serves it (Starlette +
  uvicorn, the ``listen`` extra) with every rating committed to SQLite before the page moves on;
* :func:`listening_results` turns the database into per-condition MOS / P.835 / MUSHRA scores with 95 %
  intervals, after screening listeners with the gold questions.

Example:
    >>> from audiorestore.web import serve, listening_results
    >>> serve(["bench_out/report"], "ratings.sqlite", protocol="mushra")    # doctest: +SKIP
    >>> listening_results("ratings.sqlite").write("results/")              # doctest: +SKIP
"""

from .design import PROTOCOLS, ListeningTest, build_test, make_plan
from .results import ListeningResults, listening_results
from .server import serve
from .store import RatingStore

__all__ = ["serve", "listening_results", "ListeningResults", "build_test", "make_plan", "ListeningTest",
           "RatingStore", "PROTOCOLS"]
