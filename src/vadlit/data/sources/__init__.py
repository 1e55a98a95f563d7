"""Readers of the real benchmarks and of any folder of footage, one module per on-disk format."""
