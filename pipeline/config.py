"""Where the pipeline keeps its state; every path can be moved with an environment variable.

``Paths`` lives in ``serving.layout``, shared with the readers (serving/ never imports
pipeline/); it is re-exported here for the pipeline's own modules.
"""

from __future__ import annotations

from serving.layout import PROJECT_DIR, Paths

__all__ = ["PROJECT_DIR", "Paths"]
