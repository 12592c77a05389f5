"""Benchmarks for the items service, run with `python -m bench` (see `bench/RESULTS.md`).

Every figure is a ratio measured side by side in one run: the machines are shared and noisy,
so an absolute time alone means little. Targets are read from the output, never asserted by
timed unit tests.
"""
