"""Tests of pure code: the model, settings."""
