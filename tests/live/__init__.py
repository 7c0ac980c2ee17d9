"""Tests of fbt.live: the pure parts of live and paper trading."""
