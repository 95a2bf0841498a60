"""Which screens a caller gets, from the roles their key acts with.

The API judges every request again with the Cedar policies; this only keeps people from screens whose
actions their roles never take (DOMAIN.md: analysts search and run post-mortems, governance leads
approve, auditors trace). What a screen lets someone *do* follows the same roles: analysts manage
action items and propose decisions, governance leads approve or reject, everyone else reads.
"""

from __future__ import annotations

from collections.abc import Iterable

LIBRARY = "library"
POSTMORTEM = "postmortem"
APPROVALS = "approvals"
LINEAGE = "lineage"
ORDER = (LIBRARY, POSTMORTEM, APPROVALS, LINEAGE)

ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "analyst": (LIBRARY, POSTMORTEM),
    "governance_lead": (LIBRARY, POSTMORTEM, APPROVALS),
    "auditor": (LIBRARY, POSTMORTEM, LINEAGE),
    "admin": ORDER,  # every screen, read-only: admins neither analyse nor decide
}

# (file relative to ui/app.py, title, icon)
PAGE_FILES: dict[str, tuple[str, str, str]] = {
    LIBRARY: ("views/library.py", "Library", ":material/search:"),
    POSTMORTEM: ("views/postmortem.py", "Post-mortem", ":material/analytics:"),
    APPROVALS: ("views/approvals.py", "Approvals", ":material/gavel:"),
    LINEAGE: ("views/lineage.py", "Lineage", ":material/account_tree:"),
}


def pages_for(roles: Iterable[str]) -> list[str]:
    """The screens of every role held, in menu order (none for a key with no known role)."""
    held = {page for role in roles for page in ROLE_PAGES.get(role, ())}
    return [page for page in ORDER if page in held]


def may_analyse(roles: Iterable[str]) -> bool:
    """Edit action items (owner, due date, status), replay, propose decisions."""
    return "analyst" in set(roles)


def may_decide(roles: Iterable[str]) -> bool:
    """Approve or reject decisions waiting for approval."""
    return "governance_lead" in set(roles)


def page_file(page: str) -> str:
    return PAGE_FILES[page][0]
