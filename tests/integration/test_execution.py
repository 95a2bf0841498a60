"""Executing approved decisions against the simulated ad platform (429s with Retry-After, transient
failures, asynchronous confirmation) and the file adapter: every change applied exactly once and
confirmed, a crash between the platform's acceptance and its confirmation resumed without a second
change, and the policies judged again at execution time."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from governance import audit, decisions, execution
from governance import policy as gates
from graph.lineage import mark_tainted
from graph.store import GraphStore


def _approved(world: GraphStore, policies: gates.PolicySet, title: str) -> str:
    d = decisions.propose(
        world,
        policies,
        by="ann",
        kind="budget_reallocation",
        title=title,
        findings=["f-ok"],
        amount=12_000,
        from_channel="paid_social",
        to_channel="paid_search",
    )
    decisions.act(world, policies, d.id, "submit", by="ann")
    decisions.act(world, policies, d.id, "approve", by="lee")
    return d.id


def test_every_approved_change_executes_exactly_once_despite_429s_and_failures(
    world: GraphStore, policies: gates.PolicySet, tmp_path: Path
) -> None:
    platform = execution.SimulatedPlatform(
        tmp_path / "platform.json", seed=3, rate_limit_every=3, failure_rate=0.3
    )
    ids = [_approved(world, policies, f"Move budget {i}") for i in range(5)]
    for decision_id in ids:
        done = execution.execute(world, policies, decision_id, platform, by="lee")
        assert done["state"] == "executed"
    applied = platform.applied()
    assert len(applied) == 5 and set(applied.values()) == {1}
    assert platform.calls > 10  # the weather really happened: 429s and failures were retried
    statuses = {p["status"] for _, p in world.nodes("Execution").values()}
    assert statuses == {"confirmed"}
    assert audit.verify(world).ok


def test_a_crash_before_confirmation_resumes_without_a_second_change(
    world: GraphStore, policies: gates.PolicySet, tmp_path: Path
) -> None:
    platform = execution.SimulatedPlatform(
        tmp_path / "platform.json", seed=1, rate_limit_every=0, failure_rate=0.0
    )
    decision_id = _approved(world, policies, "Move budget after a crash")
    with pytest.raises(execution.PlatformError, match="simulated crash"):
        execution.execute(world, policies, decision_id, platform, by="lee", crash_after_submit=True)
    assert decisions.load(world, decision_id)["state"] == "approved"
    # A new process: a new client of the same platform, the same graph.
    again = execution.SimulatedPlatform(
        tmp_path / "platform.json", seed=2, rate_limit_every=0, failure_rate=0.0
    )
    done = execution.execute(world, policies, decision_id, again, by="lee")
    assert done["state"] == "executed"
    assert list(again.applied().values()) == [1]
    with pytest.raises(decisions.Refused, match="that is executed"):
        execution.execute(world, policies, decision_id, again, by="lee")  # nothing runs twice
    verified = decisions.act(world, policies, decision_id, "verify", by="kim", comment="leads up 8%")
    assert verified.decision["state"] == "verified"
    with pytest.raises(decisions.Refused):
        decisions.act(world, policies, decision_id, "rollback", by="kim")  # verified is final


def test_the_policies_judge_again_at_execution_time(
    world: GraphStore, policies: gates.PolicySet, tmp_path: Path
) -> None:
    platform = execution.SimulatedPlatform(tmp_path / "platform.json", rate_limit_every=0, failure_rate=0.0)
    decision_id = _approved(world, policies, "Move budget before a taint")
    mark_tainted(world, "src", "the export was wrong", then=decisions.after_taint)
    with pytest.raises(decisions.Refused):
        execution.execute(world, policies, decision_id, platform, by="lee")


def test_a_change_freeze_blocks_execution(
    world: GraphStore, policies: gates.PolicySet, tmp_path: Path
) -> None:
    platform = execution.SimulatedPlatform(tmp_path / "platform.json", rate_limit_every=0, failure_rate=0.0)
    frozen_dir = tmp_path / "policies"
    shutil.copytree(gates.DEFAULT_DIR, frozen_dir)
    today = dt.datetime.now(dt.UTC).date()
    (frozen_dir / "freezes.yaml").write_text(
        f"freezes:\n  - name: now\n    start: {today}\n    end: {today}\n"
    )
    other = build_world_decision(world, policies)
    with pytest.raises(decisions.Refused, match="Nothing is executed during a change freeze"):
        execution.execute(world, gates.load(frozen_dir), other, platform, by="lee")
    assert platform.applied() == {}
    assert execution.execute(world, policies, other, platform, by="lee")["state"] == "executed"


def build_world_decision(world: GraphStore, policies: gates.PolicySet) -> str:
    d = decisions.propose(
        world, policies, by="ann", kind="pause", title="Pause in a freeze", findings=["f-ok"]
    )
    decisions.act(world, policies, d.id, "submit", by="ann")
    decisions.act(world, policies, d.id, "approve", by="kim")
    return d.id


def test_the_file_adapter_writes_one_signed_order(
    world: GraphStore, policies: gates.PolicySet, tmp_path: Path
) -> None:
    adapter = execution.FileAdapter(tmp_path / "orders", tmp_path / "key.pem")
    decision_id = _approved(world, policies, "Move budget by file")
    execution.execute(world, policies, decision_id, adapter, by="lee")
    files = list((tmp_path / "orders").glob("*.json"))
    assert len(files) == 1
    signed = json.loads(files[0].read_text())
    public = serialization.load_pem_public_key(signed["public_key"].encode())
    public.verify(base64.b64decode(signed["signature"]), audit.canonical(signed["order"]).encode())  # type: ignore[union-attr]
    assert signed["order"]["decision_id"] == decision_id and signed["order"]["amount"] == 12_000
