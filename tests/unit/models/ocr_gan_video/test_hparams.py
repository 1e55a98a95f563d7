"""The hyper-parameter schema: written once, the YAML users read says the same, bad values are one line."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from vadlit.errors import ConfigError
from vadlit.models.ocr_gan_video.checkpoint import REQUIRED_HPARAMS
from vadlit.models.ocr_gan_video.hparams import HParams
from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule

YAML = Path(__file__).resolve().parents[4] / "conf" / "model" / "ocr_gan.yaml"


def test_the_yaml_documents_every_key_with_the_schemas_default():
    cfg = OmegaConf.load(YAML)
    keys = [k for k in cfg if k != "_target_"]
    assert sorted(keys) == sorted(HParams().as_dict()), "conf/model/ocr_gan.yaml and HParams list other keys"
    defaults = HParams().as_dict()
    for key in keys:
        node = OmegaConf.to_container(cfg, resolve=False)[key]
        if isinstance(node, str) and (node.startswith("${") or node == "???"):
            continue  # filled from data.* or by the variant
        expected = defaults[key]
        assert node == (list(expected) if isinstance(expected, tuple) else expected), key


def test_the_module_saves_every_key():
    model = VideoAnomalyModule(heads=2, variant="ta2", image_size=32, base_channels=8, d_base_channels=8, nz=16)
    assert dict(model.hparams) == HParams(heads=2, variant="ta2", image_size=32, base_channels=8, d_base_channels=8,
                                          nz=16).as_dict()
    assert set(REQUIRED_HPARAMS) <= set(model.hparams)


@pytest.mark.parametrize("values, message", [
    ({"hedas": 4}, "model.hedas: not an option of this model; expected one of"),
    ({"lr": "fast"}, "model.lr='fast': expected a number"),
    ({"heads": 2.5}, "model.heads=2.5: expected an integer"),
    ({"compile": "yes"}, "model.compile='yes': expected true or false"),
    ({"betas": [0.5]}, "model.betas=[0.5]: expected two numbers"),
    ({"on_nonfinite": "ignore"}, "model.on_nonfinite='ignore': expected one of stop, skip"),
    ({"d_lr": 0}, "model.d_lr=0: expected a positive learning rate"),
    ({"memory_level": 3}, "model.memory_level=3: expected an encoder level 0..2"),
])
def test_a_bad_value_is_one_line_naming_its_key(values, message):
    with pytest.raises(ConfigError) as info:
        HParams.from_config(values)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
