"""Kesu benchmarks: `python -m bench --help`. They print figures; they are not tests."""
