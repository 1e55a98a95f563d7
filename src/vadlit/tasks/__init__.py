"""What the entry points do: each `cli/` module composes the Hydra config and calls one task here
(`train`, `score`, `analyze`, `prepare`, `report`); the other modules are the parts of a run."""
