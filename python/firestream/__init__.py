"""Firestream stream apps in Python.

A subclass of :class:`App` is a whole app: which topics it reads and writes, how a record is
keyed, and what happens to each record given its key's state. The Firestream runtime (Swift)
reads the inputs, keeps the state, journals each step and writes the outputs exactly once; this
package only computes. See docs/python.md.
"""

from ._app import App, Context, Filter, FlatMap, Map, Output, State
from ._engine import PROTOCOL_VERSION
from .testing import AppRun, run_app

__all__ = ["App", "AppRun", "Context", "Filter", "FlatMap", "Map", "Output", "PROTOCOL_VERSION", "State", "run_app"]
__version__ = "0.1.0"
