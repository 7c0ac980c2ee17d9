"""Tests of the core vocabulary, the reducers and the fold."""
