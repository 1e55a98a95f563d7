"""vadlit: video anomaly detection experiments with temporal-attention GANs."""

__version__ = "0.1.0"
