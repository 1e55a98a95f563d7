"""`vadlit-bench`: measure training, loading, scoring and attention speed on this machine (bench.json)."""

import hydra
from omegaconf import DictConfig

from vadlit.config.tree import config_dir
from vadlit.cli.process import vadlit_process
from vadlit.cli.errors import composition_errors_as_messages, user_errors_as_messages


@vadlit_process
@composition_errors_as_messages
@hydra.main(version_base="1.3", config_path=config_dir(), config_name="bench")
@user_errors_as_messages
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from vadlit.tasks.bench import run_bench  # imported here so `--help` stays fast
    from vadlit.tasks.bench.cases import Composer

    # every measured case is composed like this run, plus its own overrides (model=..., sizes)
    run_bench(cfg, Composer("bench", list(HydraConfig.get().overrides.task), config_dir()))


if __name__ == "__main__":
    main()
