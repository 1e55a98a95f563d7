"""Writers of tiny data-set trees in the exact on-disk formats, for tests."""
