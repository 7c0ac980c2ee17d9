"""Tests of parameter sweeps and walk-forward analysis."""
