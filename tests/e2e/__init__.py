"""End-to-end tests: tiny training runs, the vadlit-* entry points and sweeps."""
