"""The data sources: the embedded synthetic benchmark (`synthetic`, a package with one module per
stage of the generator) and readers of the real benchmarks and of any folder of footage, one module
per on-disk format; `footage` is the one video or frame folder that `vadlit-score` judges."""
