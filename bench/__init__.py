"""Benchmarks (run as scripts, e.g. ``.venv/bin/python -m bench.append --quick``)."""
