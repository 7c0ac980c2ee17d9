"""Peer parity: the published numbers of other backtesters' own test files, reproduced by fbt."""
