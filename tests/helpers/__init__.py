"""What the tests share: tiny-run overrides, synthetic data-set trees, fake sweep folders, sources, paths."""
