"""Evaluation data, suites and benchmarks."""
