"""`python -m vadlit.cli.packing [overrides]`: the `jobs_per_gpu` for a sweep of this job on the GPUs
here (one number on stdout, why on stderr), measured from a few training steps; `make ablation`
passes it to the Ray launcher."""

import sys
import tempfile

import hydra
from omegaconf import DictConfig

from vadlit.config.tree import config_dir
from vadlit.cli.process import vadlit_process
from vadlit.cli.errors import composition_errors_as_messages, user_errors_as_messages


@vadlit_process
@composition_errors_as_messages
@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
@user_errors_as_messages
def main(cfg: DictConfig) -> None:
    from vadlit.tasks.lightning_logs import quiet_lightning
    from vadlit.tasks.packing import measured_packing

    quiet_lightning()
    with tempfile.TemporaryDirectory(prefix="vadlit-packing-") as root:
        packing = measured_packing(cfg, root)
    print(packing.reason, file=sys.stderr)
    print(packing.jobs_per_gpu)


if __name__ == "__main__":
    main()
