"""Tests of the loaders and writers."""
