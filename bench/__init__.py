"""Benchmarks over the real processes (`make bench`); not collected by pytest."""
