"""Tests of the research tools: statistics, reports, data sources, examples."""
