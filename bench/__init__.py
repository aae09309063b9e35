"""Benchmarks that measure Casework against the raw libraries in the same run (`make bench`)."""
