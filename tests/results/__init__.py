"""Tests of the results layer: the statistics as the README defines them."""
