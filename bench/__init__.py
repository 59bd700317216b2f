"""Benchmarks (not tests): each prints its figures and a ratio against a floor."""
