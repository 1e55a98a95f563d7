"""What the entry points do: each `cli/` module composes the Hydra config and calls one task here."""
