"""Benchmarks: statistics, operator scale, router overhead."""
