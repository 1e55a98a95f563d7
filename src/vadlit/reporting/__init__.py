"""`vadlit-report`: an ablation sweep folder -> a results table (`report.md`, `results.csv`, `report.png`).

`sweep.load_sweep` reads every job folder of a Hydra multirun (its overrides, `run_info.json` status and
`metrics.json`), expands the grid the sweep was launched with (`multirun.yaml`: the sweep overrides of
`hydra.overrides.task` plus `hydra.sweeper.params`, exactly as Hydra's BasicSweeper does) and marks the
jobs of that grid that have no folder as missing. `summary.summarize` aggregates the finished runs per
variant over seeds and pairs each attention variant with the baseline of the same other factors seed by
seed. `files.write_report` writes the three files. Nothing found or expected is dropped silently: every
job is either in the results table or listed as failed / unfinished / missing / superseded.

One concern per module, each importing only those before it: `text` (the dash and one-line messages
both sides share), `grid` (Hydra's override grammar: a job's overrides, the grid of multirun.yaml),
`jobs` (one job folder), `sweep` (the job folders matched against the grid), `summary` (per-variant
statistics and the paired tests), `tables` (number formatting and the Markdown tables), `trivial` (the
trivial-baselines table), `markdown` (report.md) and `files` (results.csv, report.png, writing all three).
"""
