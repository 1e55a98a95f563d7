"""`vadlit-score ckpt_path=... input=PATH`: score a video file or a folder of frames with a trained model."""

import hydra
from omegaconf import DictConfig

from vadlit.config.tree import config_dir
from vadlit.cli.process import vadlit_process
from vadlit.cli.errors import composition_errors_as_messages, user_errors_as_messages


@vadlit_process
@composition_errors_as_messages
@hydra.main(version_base="1.3", config_path=config_dir(), config_name="score")
@user_errors_as_messages
def main(cfg: DictConfig) -> None:
    from vadlit.tasks.score import score

    score(cfg)


if __name__ == "__main__":
    main()
