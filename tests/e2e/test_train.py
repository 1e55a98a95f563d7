"""End to end on composed real configs: every variant trains, scores every test frame, writes outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sklearn.metrics import roc_auc_score

from tests.helpers.runs import TINY, cli, compose_run


def read_scores(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# the baseline, the default ta4 and tconv in make test; ta1, ta2 and ta8 differ from ta4 in the head
# count alone (unit tests cover the heads): slow, in make test-all, to keep make test under 8 minutes
SLOW = pytest.mark.slow


@pytest.mark.parametrize("variant", ["baseline", pytest.param("ta1", marks=SLOW), pytest.param("ta2", marks=SLOW),
                                     "ta4", pytest.param("ta8", marks=SLOW), "tconv"])
@pytest.mark.parametrize("objective", ["reconstruct", "predict"])
def test_every_variant_and_objective_trains_and_scores_every_frame(tmp_path, variant, objective):
    from vadlit.tasks.train import run

    cfg = compose_run(tmp_path, TINY + [f"model={variant}", f"model.objective={objective}"])
    metrics = run(cfg)
    out = tmp_path / "run"
    rows = read_scores(out / "scores.csv")
    assert len(rows) == 2 * 48 == metrics["n_frames"], "one row per test frame"
    assert [(r["video"], int(r["frame"])) for r in rows[:2]] == [("test_001", 1), ("test_001", 2)]
    if objective == "predict":  # frames 1..clip_len-1 have no history: they take the first prediction's score
        assert len({r["score"] for r in rows[:4]}) == 1 and rows[4]["score"] != rows[3]["score"]
    heads = {"baseline": 0, "tconv": 4}[variant] if variant in ("baseline", "tconv") else int(variant[2:])
    assert metrics["model"] == {**metrics["model"], "heads": heads, "objective": objective}
    assert metrics["checkpoint"]["monitor"] == "val/con_loss" and "test set chooses nothing" in metrics["checkpoint"]["selected_by"]
    assert (out / "run_info.json").exists() and any((out / "tensorboard").iterdir())
    assert list((out / "checkpoints").glob("*.ckpt"))


def test_parameter_counts_baseline_fewer_attention_equal(tmp_path):
    from hydra.utils import instantiate

    counts = {}
    for variant in ["baseline", "ta1", "ta2", "ta4", "ta8"]:
        cfg = compose_run(tmp_path, [f"model={variant}"])
        counts[variant] = instantiate(cfg.model).parameter_counts()["total"]
    assert counts["baseline"] < counts["ta1"] == counts["ta2"] == counts["ta4"] == counts["ta8"]


def test_bf16_mixed_training_runs_on_cpu(tmp_path):
    from vadlit.tasks.train import run

    metrics = run(compose_run(tmp_path, TINY + ["model=ta2", "trainer.precision=bf16-mixed"]))
    info = json.loads((tmp_path / "run" / "run_info.json").read_text())
    assert info["precision"] == "bf16-mixed" and info["status"] == "finished"
    assert metrics["auroc"] is not None


def test_fp16_mixed_precision_steps_both_optimizers_through_one_loss_scaler(tmp_path):
    from tests.helpers.callbacks import ScalerWatch
    from vadlit.tasks.train import run

    # Lightning turns `16-mixed` into bf16 on a CPU; an explicit fp16 plugin keeps the real
    # GradScaler path (what `16-mixed` does on a GPU) so it can be checked here.
    # The scaler starts at 2^8 rather than 2^16 so that two batches suffice: at 2^16 the first G
    # steps overflow and are (correctly) skipped.
    plugin = ("+trainer.plugins=[{_target_: lightning.pytorch.plugins.precision.MixedPrecision, "
              "precision: 16-mixed, device: cpu, "
              "scaler: {_target_: torch.amp.GradScaler, device: cpu, init_scale: 256}}]")
    cfg = compose_run(tmp_path, TINY + ["trainer.precision=null", plugin,
                                        "+callbacks.watch._target_=tests.helpers.callbacks.ScalerWatch"])
    metrics = run(cfg)
    assert ScalerWatch.last["scale"] > 0 and ScalerWatch.last["stepped"] == [True, True]
    assert metrics["auroc"] is not None


def test_cli_train_then_eval_writes_outputs_and_metrics_match_scores(tmp_path):
    run_dir = tmp_path / "my run"
    proc = cli("vadlit-train", TINY + [f"hydra.run.dir={run_dir}", "trainer.max_epochs=2"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # not a terminal (captured): a line per epoch on stdout and in the log, the summary once in each
    log_text = (run_dir / "train.log").read_text()
    for text in (proc.stdout, log_text):
        assert text.count("test AUROC") == 1, text[-2000:]
        lines = [line for line in text.splitlines() if "epoch " in line and "s/epoch" in line]
        assert [line.split("epoch ")[1].split(":")[0] for line in lines] == ["1/2", "2/2"], lines
        assert "val/con_loss" in lines[0] and "ETA" in lines[0] and "ETA" not in lines[1]
    assert "where (" in proc.stdout and "RBDC" in proc.stdout
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ["auroc", "auroc_macro", "ap", "eer", "auroc_by_kind", "n_frames", "n_videos", "params", "model",
                "checkpoint", "options"]:
        assert key in metrics, key
    assert metrics["options"]["uses_test_statistics"] is False
    rows = read_scores(run_dir / "scores.csv")
    recomputed = roc_auc_score([int(r["label"]) for r in rows], [float(r["score"]) for r in rows])
    assert metrics["auroc"] == pytest.approx(recomputed, abs=1e-6)
    info = json.loads((run_dir / "run_info.json").read_text())
    assert {"start", "end", "host", "accelerator", "devices", "CUDA_VISIBLE_DEVICES", "precision", "seed",
            "git_commit", "placement"} <= set(info)
    assert info["placement"]["gpu_share"] == 0.0 and info["placement"]["jobs_per_gpu"] == 1, "on a CPU: no GPU share"

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (named,) = (run_dir / "tensorboard").iterdir()
    assert named.name == "ta4-reconstruct-seed0", "TensorBoard names the run by what it is"
    events = EventAccumulator(str(named), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert {"val/reconstruction", "test/anomaly_maps", "test/roc", "attention/generator",
            "attention/discriminator", "test/attention/generator", "test/attention/discriminator"} <= set(tags["images"])
    curves = [t for t in tags["images"] if t.startswith("test/scores/")]
    assert sorted(curves) == ["test/scores/test_001", "test/scores/test_002"], "one score curve per test video"
    assert {"train/g_loss_step", "val/con_loss", "test/auroc"} <= set(tags["scalars"])
    assert not [t for t in tags["scalars"] if t.startswith("hparams/")], "HPARAMS reads the test/ scalars"
    hparams = events.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in hparams, "the HPARAMS row is written"
    from tensorboard.plugins.hparams import metadata

    row = metadata.parse_session_start_info_plugin_data(hparams["_hparams_/session_start_info"]).hparams
    assert {"variant", "heads", "objective", "seed"} <= set(row) and len(row) <= 12, \
        "HPARAMS holds the run's factors, not the model's internals"
    assert {"val/con_loss", "val/con_loss_best"} <= set(tags["scalars"]), "the tested checkpoint is marked"
    # one step axis: figures at the scalars' step (batches trained, 2 epochs x 2), not optimizer steps (G and D)
    assert events.Scalars("test/auroc")[-1].step == events.Images("test/roc")[-1].step == 4
    assert events.Images("val/reconstruction")[0].step == events.Scalars("val/con_loss")[0].step

    ckpt = metrics["checkpoint"]["path"]
    eval_dir = tmp_path / "eval"
    proc = cli("vadlit-eval", TINY + [f"ckpt_path={ckpt}", f"hydra.run.dir={eval_dir}", "model=baseline"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = json.loads((eval_dir / "metrics.json").read_text())
    assert again["model"]["heads"] == metrics["model"]["heads"], "the checkpoint, not the config, decides the model"
    assert again["auroc"] == pytest.approx(metrics["auroc"], abs=1e-6)


@pytest.mark.parametrize(
    "overrides,expected",
    [
        (["model.heads=3"], "model.heads"),
        (["model=ta2", "model.objective=predict", "data.clip_len=1"], "data.clip_len"),
        (["data.image_size=36"], "data.image_size"),
        (["model.objective=forecast"], "model.objective"),
        (["data.source.kinds=[object,flying]"], "data.source.kinds"),
    ],
)
def test_bad_configuration_gives_one_clear_line(tmp_path, overrides, expected):
    proc = cli("vadlit-train", TINY + overrides + [f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert proc.returncode == 2
    assert expected in proc.stderr and "vadlit: error:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_eval_without_a_checkpoint_file_says_so(tmp_path):
    proc = cli("vadlit-eval", TINY + [f"ckpt_path={tmp_path / 'missing.ckpt'}", f"hydra.run.dir={tmp_path / 'e'}"], tmp_path)
    assert proc.returncode == 2 and "ckpt_path=" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_model_values_fail_at_construction_naming_the_key(tmp_path):
    from hydra.utils import instantiate

    from vadlit.errors import ConfigError

    for override, key in [("model.score_lambda=1.5", "model.score_lambda=1.5"), ("model.lr=0", "model.lr=0")]:
        cfg = compose_run(tmp_path, [override])
        with pytest.raises(Exception) as info:
            instantiate(cfg.model)
        assert isinstance(info.value.__cause__ or info.value, ConfigError) and key in str(info.value)
