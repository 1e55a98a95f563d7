"""`vadlit-prepare data=<name> data.root=<path>`: build the frame cache now and summarise the data set."""

import hydra
from omegaconf import DictConfig

from vadlit.config.tree import config_dir
from vadlit.cli.process import vadlit_process
from vadlit.cli.errors import composition_errors_as_messages, user_errors_as_messages


@vadlit_process
@composition_errors_as_messages
@hydra.main(version_base="1.3", config_path=config_dir(), config_name="prepare")
@user_errors_as_messages
def main(cfg: DictConfig) -> None:
    from vadlit.tasks.prepare import prepare

    prepare(cfg)


if __name__ == "__main__":
    main()
