"""A DDP child process of one job: it runs that job's saved, resolved config (see `tasks.ddp.ddp_children_from`)."""

import sys

from omegaconf import OmegaConf


def main() -> None:
    from vadlit.tasks.train import run

    run(OmegaConf.load(sys.argv[1]))


if __name__ == "__main__":
    main()
