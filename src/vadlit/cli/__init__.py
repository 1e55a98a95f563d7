"""Thin entry points: compose the Hydra config, call the library, turn user errors into one line."""
