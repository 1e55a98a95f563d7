"""The attention probe behind `vadlit-analyze`, without a trained checkpoint."""

from __future__ import annotations

import pytest


def test_the_baseline_has_no_attention_to_analyse(tmp_path):
    from vadlit.analysis.probe import analyze_attention
    from vadlit.errors import DataError
    from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule

    model = VideoAnomalyModule(image_size=32, clip_len=4, heads=0, base_channels=8, d_base_channels=8, nz=16)
    with pytest.raises(DataError, match="no-attention baseline"):
        analyze_attention(model, datamodule=None, out_dir=tmp_path)
