"""The Post-mortem screen (its logic lives in `ui.postmortem`)."""

from ui import postmortem

postmortem.render()
