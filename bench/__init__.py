"""Benchmarks. Each compares the service with a baseline measured in the same run (see README.md here)."""
