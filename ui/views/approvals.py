"""The Approvals screen (its logic lives in `ui.approvals`)."""

from ui import approvals

approvals.render()
