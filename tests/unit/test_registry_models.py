"""Diagnostic models as MLflow pyfunc models, on a real SQLite store in a temporary directory:
registration is idempotent, aliases resolve, predict equals the engine's call, and a version whose
code differs from the installed code is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from diagnostics import models as diagnostic
from diagnostics.assumptions import Assumptions
from graph.errors import InvalidGraphInput, NotFound
from graph.settings import Settings
from registry import models as registered
from registry.tracking import registry


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", mlflow_store=tmp_path / "mlflow")


def _ads() -> pl.DataFrame:
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(28)]
    return pl.DataFrame(
        {
            "creative_id": ["a"] * 28 + ["b"] * 28,
            "day": days * 2,
            "clicks": [60 - i * 2 for i in range(28)] + [40] * 28,
            "impressions": [1000] * 56,
        }
    )


def test_register_is_idempotent_and_sets_champion_once(settings: Settings) -> None:
    with registry(settings) as reg:
        first = registered.register(reg, "fatigue")
        assert registered.register(reg, "fatigue") == first
        other = registered.register(reg, "fatigue", {"fatigue_materiality": 0.3})
        assert other != first
        resolved = registered.resolve(reg, {"fatigue": "champion"})["fatigue"]
        assert resolved.version == first and resolved.params == {"fatigue_materiality": 0.2}
        registered.promote_version(reg, "fatigue", other, "challenger")
        challenger = registered.resolve(reg, {"fatigue": "challenger"})["fatigue"]
        assert challenger.version == other and challenger.params == {"fatigue_materiality": 0.3}
        assert registered.resolve(reg, {"fatigue": f"v{other}"})["fatigue"].alias is None


def test_predict_is_the_engine_call_with_the_versions_parameters(settings: Settings) -> None:
    with registry(settings) as reg:
        version = registered.register(reg, "fatigue", {"fatigue_materiality": 0.3})
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(f"models:/warrant-fatigue/{version}")
    expected = diagnostic.output_json(
        "fatigue", diagnostic.creative_fatigue(_ads(), Assumptions(fatigue_materiality=0.3))
    )
    assert model.predict(_ads())["output"][0] == expected  # polars in
    assert model.predict(_ads().to_pandas())["output"][0] == expected  # pandas in


def test_a_version_from_other_code_is_refused(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with registry(settings) as reg:
        version = registered.register(reg, "drivers")
        monkeypatch.setattr(registered, "code_version", lambda name: "0000000000000000")
        with pytest.raises(
            registered.ModelCodeMismatch, match=f"warrant-drivers version {version} was registered"
        ):
            registered.resolve(reg)


def test_references_and_bad_requests() -> None:
    assert registered.parse_ref("attribution@challenger") == ("attribution", "challenger")
    assert registered.parse_ref("warrant-drivers/3") == ("drivers", "v3")
    with pytest.raises(InvalidGraphInput, match="NAME@ALIAS"):
        registered.parse_ref("attribution")
    with pytest.raises(InvalidGraphInput, match="no diagnostic model 'uplift'"):
        registered.parse_ref("uplift@champion")


def test_parameters_a_model_does_not_own_and_missing_aliases(settings: Settings) -> None:
    with registry(settings) as reg:
        with pytest.raises(InvalidGraphInput, match="model fatigue does not own markov_order"):
            registered.register(reg, "fatigue", {"markov_order": 2})
        with pytest.raises(NotFound, match="warrant-attribution has no challenger version"):
            registered.resolve(reg, {"attribution": "challenger"})
