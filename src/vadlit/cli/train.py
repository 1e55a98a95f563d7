"""`vadlit-train`: train on normal clips, test the checkpoint chosen on validation, write the results."""

import hydra
from omegaconf import DictConfig

from vadlit.config.tree import config_dir, in_sweep
from vadlit.cli.process import vadlit_process
from vadlit.cli.errors import composition_errors_as_messages, user_errors_as_messages


@vadlit_process
@composition_errors_as_messages
@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
@user_errors_as_messages
def main(cfg: DictConfig) -> float | None:
    # imported here so `--help` stays fast
    from vadlit.tasks.train import run_job, sweep_objective

    return sweep_objective(run_job(cfg, multirun=in_sweep()))


if __name__ == "__main__":
    main()
