"""Tests that the per-bar cost stays constant."""
