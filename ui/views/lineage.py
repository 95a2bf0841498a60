"""The Lineage screen (its logic lives in `ui.lineage`)."""

from ui import lineage

lineage.render()
