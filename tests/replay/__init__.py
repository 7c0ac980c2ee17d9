"""Tests of the journal, replay, diff, debugger, lookahead check and the testing kit."""
