"""MLflow model-from-code entry point of every diagnostic model: the configuration logged with the
version (name, parameters, code version) says which one this is; see `registry.models`."""

from mlflow.models import set_model

from registry.models import DiagnosticModel

set_model(DiagnosticModel())
