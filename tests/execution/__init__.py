"""Tests of the realistic execution modes, instruments and the backtrader cross-check."""
