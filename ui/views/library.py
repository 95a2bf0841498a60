"""The Library screen (its logic lives in `ui.library`)."""

from ui import library

library.render()
