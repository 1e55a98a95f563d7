"""What vadlit-train returns to a Hydra sweeper is the validation criterion: the test labels never reach it."""

from __future__ import annotations

import pytest

from tests.helpers.runs import TINY, compose_run


@pytest.mark.slow  # two tiny trainings: make test-all
def test_the_value_a_sweeper_optimises_does_not_change_when_the_test_labels_do(tmp_path):
    from vadlit.tasks.train import run, sweep_objective

    base = TINY + ["logger=none"]
    given = run(compose_run(tmp_path / "given", base))
    other = run(compose_run(tmp_path / "relabelled",
                            base + ["data.source._target_=tests.helpers.sources.RelabelledSynthetic"]))
    assert given["auroc"] != other["auroc"], "the relabelled test set must change what the test measures"
    value = sweep_objective(given)
    assert value is not None and value == given["checkpoint"]["value"]
    assert sweep_objective(other) == value, "the sweeper's value moved with the test labels"
    assert sweep_objective(None) is None, "a failed run is a failed trial, not a number"


def test_the_optuna_search_minimises_that_value_over_keys_the_model_has(tmp_path):
    cfg = compose_run(tmp_path, ["hparams_search=optuna"])
    sweeper = cfg.hydra.sweeper
    assert sweeper.direction == "minimize" and "Optuna" in sweeper._target_
    for key in sweeper.params:
        section, name = key.split(".", 1)
        assert name in cfg[section], f"hparams_search/optuna.yaml tunes {key}, which the config does not have"
    assert not any(k.startswith(("eval.", "data.source")) for k in sweeper.params), "never a test-side option"
