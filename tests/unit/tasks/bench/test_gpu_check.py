"""The GPU check's parts without a GPU: the plan's order, the deadline, the AUROC comparison and its
tolerances, the derived numbers, the goals and the report; bad arguments and missing packages are
one line with exit status 2; a budget already spent skips every case and still writes valid files."""

from __future__ import annotations

import json
import math

import pytest

from vadlit.tasks.bench import agreement, gpu_check
from vadlit.tasks.bench.deadline import Deadline
from vadlit.tasks.bench.gpu_plan import gpu_plan, rehearsal_plan


def test_the_goal_cases_come_first_and_compile_last():
    cases = gpu_plan().throughput_cases()
    assert len(cases) == 18
    early = [c.name for c in cases if c.early]
    assert early == ["baseline 128x128x16 32-true", "baseline 128x128x16 bf16-mixed",
                     "ta4 128x128x16 32-true", "ta4 128x128x16 bf16-mixed"]
    assert cases[:4] == [c for c in cases if c.early]
    assert [c.option for c in cases[-2:]] == ["compile", "compile"] and all(c.model == "ta4" for c in cases[-2:])
    # every precision plain at both sizes, both models; the options on bf16-mixed only
    plain = {(c.model, c.size.name, c.precision) for c in cases if not c.option}
    assert len(plain) == 12
    assert all(c.precision == "bf16-mixed" for c in cases if c.option)
    assert cases[-1].overrides == ["model=ta4", "data.image_size=128", "data.clip_len=16",
                                   "trainer.precision=bf16-mixed", "model.compile=true"]
    assert not any(c.option == "compile" for c in rehearsal_plan().throughput_cases())


def test_the_deadline_lets_a_part_start_only_when_it_fits():
    now = [100.0]
    deadline = Deadline(60, clock=lambda: now[0])
    assert deadline.allows(50, reserve_s=10) and not deadline.allows(51, reserve_s=10)
    now[0] = 130.0
    assert deadline.elapsed == 30 and deadline.remaining == 30
    assert deadline.slice(300, reserve_s=10) == 20 and deadline.slice(5) == 5
    now[0] = 200.0
    assert deadline.slice(300) == 0.0
    with pytest.raises(ValueError):
        Deadline(0)


REFERENCE = {"runs": [{"model": "ta4", "seed": s, "auroc": a} for s, a in ((0, 0.915), (1, 0.93), (2, 0.94))]
            + [{"model": "baseline", "seed": 0, "auroc": 0.66}],
            "seed_spread": {"ta4": {"std": 0.016, "n": 5}, "baseline": {"std": 0.021, "n": 5}}}


def _run(model, seed, auroc, status="finished"):
    return {"model": model, "seed": seed, "auroc": auroc, "status": status}


def test_runs_are_compared_seed_by_seed_and_variants_against_the_seed_spread():
    runs = [_run("ta4", 0, 0.922), _run("ta4", 1, 0.90), _run("ta4", 2, 0.945), _run("baseline", 0, 0.70),
            _run("ta8", 0, 0.93), _run("ta1", 0, None, status="failed")]
    result = agreement.compare(runs, REFERENCE)
    by_seed = {(r["model"], r["seed"]): r for r in result["runs"]}
    assert by_seed[("ta4", 0)]["delta"] == pytest.approx(0.007) and by_seed[("ta4", 0)]["within_fp"]
    assert not by_seed[("ta4", 1)]["within_fp"]                      # 3 pp off: a new replicate, not the same run
    assert by_seed[("ta8", 0)]["cpu"] is None and result["runs_without_reference"] == 1
    assert ("ta1", 0) not in by_seed                                 # failed runs are not compared
    assert result["runs_compared"] == 4 and result["runs_within_fp"] == 2
    ta4 = next(v for v in result["variants"] if v["model"] == "ta4")
    assert ta4["delta"] == pytest.approx((0.007 - 0.03 + 0.005) / 3)
    assert ta4["bound"] == pytest.approx(2 * 0.016 * math.sqrt(2 / 3)) and ta4["within"]
    base = next(v for v in result["variants"] if v["model"] == "baseline")
    assert base["bound"] == pytest.approx(2 * 0.021 * math.sqrt(2)) and base["within"] is True  # 4 pp < 5.9 pp
    assert result["matches"] is True and result["variants_judged"] == 2

    moved = agreement.compare([_run("ta4", s, 0.85) for s in range(3)], REFERENCE)
    assert moved["matches"] is False and moved["variants_within"] == 0
    assert agreement.compare([], REFERENCE)["matches"] is None
    assert agreement.variant_bound(0.001, 5) == agreement.FLOOR     # never tighter than 1 pp


def test_a_bad_reference_is_one_clear_line(tmp_path):
    from vadlit.errors import ConfigError

    with pytest.raises(ConfigError, match="no CPU reference"):
        agreement.load_reference(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"runs": [{"model": "ta4"}]}')
    with pytest.raises(ConfigError, match=r"needs `runs`"):
        agreement.load_reference(bad)
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        agreement.load_reference(bad)


def _row(model, size, precision, seconds, option=None, flops=1e12):
    return {"case": f"{model} {size} {precision}", "model": model, "size": size, "precision": precision,
            "option": option, "seconds_per_step": seconds, "flops_per_step": flops, "batch_size": 16,
            "clips_per_s": 16 / seconds}


def test_speedup_and_mfu_are_derived_from_the_same_run():
    from vadlit.tasks.bench.gpu_throughput import with_derived

    rates = {"bfloat16": {"flops_per_s": 1e15}, "float32": {"flops_per_s": 5e13}, "float16": {"flops_per_s": 1e15}}
    rows = [_row("ta4", "L", "32-true", 0.1), _row("ta4", "L", "bf16-mixed", 0.05),
            _row("ta4", "L", "bf16-mixed", 0.04, option="compile", flops=None), {"case": "x", "model": "ta4",
                                                                                 "size": "L", "error": "OOM"}]
    with_derived(rows, rates)
    assert rows[1]["speedup_vs_32"] == pytest.approx(2.0)
    assert rows[1]["mfu"] == pytest.approx(1e12 / 0.05 / 1e15)
    assert rows[0]["mfu_own_dtype"] == pytest.approx(1e13 / 5e13)
    assert rows[2]["flops_per_step"] == 1e12 and "uncompiled" in rows[2]["flops_from"]
    assert rows[2]["speedup_vs_32"] == pytest.approx(2.5)
    assert "mfu" not in rows[3]


def test_goals_are_judged_and_never_asserted():
    from vadlit.tasks.bench.gpu_report import evaluate, render_markdown

    results = {
        "check": {"status": "finished", "budget_s": 420, "elapsed_s": 300, "notes": []},
        "throughput": {"cases": [
            {**_row("ta4", "128x128x16", "32-true", 0.1), "speedup_vs_32": 1.0},
            {**_row("ta4", "128x128x16", "bf16-mixed", 0.05), "speedup_vs_32": 2.0, "mfu": 0.1},
            {**_row("baseline", "128x128x16", "32-true", 0.1), "speedup_vs_32": 1.0},
            {**_row("baseline", "128x128x16", "bf16-mixed", 0.08), "speedup_vs_32": 1.25},
            {"case": "ta4 64x64x8 bf16-mixed + compile", "model": "ta4", "size": "64x64x8",
             "precision": "bf16-mixed", "option": "compile", "skipped": "out of time"}]},
        "ablation": {"command": "python -m vadlit.cli.train -m ...", "jobs_expected": 15, "finished": 15,
                     "returncode": 0, "wall_s": 240.0, "ended": "exited", "max_concurrent_runs": 15},
        "agreement": agreement.compare([_run("ta4", 0, 0.92)], REFERENCE),
    }
    goals = evaluate(results, "128x128x16", ["baseline", "ta4"])
    assert [g["met"] for g in goals] == [False, True, True, True]
    assert goals[1]["shown"] == "2.00x" and goals[2]["shown"] == "4.0 min"

    partial = {**results, "ablation": {**results["ablation"], "finished": 9, "returncode": None, "wall_s": 300.0,
                                       "ended": "stopped at its slice (300 s): terminated"}}
    assert evaluate(partial, "128x128x16", ["ta4"])[1]["met"] is None  # 5 min, unfinished: unknown
    late = {**partial, "ablation": {**partial["ablation"], "wall_s": 1000.0}}
    assert evaluate(late, "128x128x16", ["ta4"])[1]["met"] is False   # past 15 min unfinished: not met
    empty = evaluate({"check": results["check"]}, "128x128x16", ["ta4"])
    assert all(g["met"] is None for g in empty)

    results["goals"] = goals
    text = render_markdown(results)
    assert "## Goals" in text and "| ta4 128x128x16 bf16-mixed | 16 | 50.0 |" in text
    assert "out of time" in text and "NCCL" in text and "SyncBatchNorm" in text and "Ray" in text
    assert "| ta4 | 1 | 91.5 | 92.0 | +0.5 |" in text


def test_max_concurrency_counts_overlapping_runs():
    from vadlit.tasks.bench.packed_ablation import max_concurrency

    assert max_concurrency([(0, 10), (1, 5), (5, 8), (9, 12)]) == 2
    assert max_concurrency([(0, 1), (1, 2)]) == 1   # one ends as the next starts
    assert max_concurrency([(0, 10)] * 5) == 5


def test_the_ablation_is_the_make_train_recipe_packed():
    from vadlit.tasks.bench.packed_ablation import ablation_command, expected_jobs

    plan = gpu_plan(jobs_per_gpu=8)
    command = ablation_command(plan, python="python3")
    assert command == ["python3", "-m", "vadlit.cli.train", "-m", "experiment=ablation_heads", "seed=0,1,2",
                       "hydra/launcher=packed", "jobs_per_gpu=8"]
    assert expected_jobs(plan) == 15 and expected_jobs(rehearsal_plan()) == 2


@pytest.mark.parametrize("argv, message", [
    (["--parts", "speed"], "--parts 'speed'"),
    (["--budget-s", "0"], "must be positive"),
    (["--jobs-per-gpu", "0"], "--jobs-per-gpu 0"),
    (["--launcher", "ray"], "invalid choice"),
    (["--nope"], "unrecognized arguments"),
])
def test_bad_arguments_are_one_line_and_status_2(argv, message, capsys, tmp_path):
    assert gpu_check.main(argv + ["--output", str(tmp_path / "out")], default_reference=tmp_path / "r.json") == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and message in err
    assert err.startswith("vadlit: error: gpu-check: ")
    assert not (tmp_path / "out").exists()


def test_missing_packages_and_reference_are_refused_before_anything_is_written(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv(gpu_check.REHEARSAL_ENV, "1")
    monkeypatch.setattr(gpu_check, "missing_packages", lambda launcher: ["hydra-core", "omegaconf"])
    assert gpu_check.main(["--output", str(tmp_path / "out")], default_reference=tmp_path / "r.json") == 2
    err = capsys.readouterr().err
    assert "hydra-core, omegaconf not installed" in err and len(err.strip().splitlines()) == 1

    monkeypatch.setattr(gpu_check, "missing_packages", lambda launcher: [])
    assert gpu_check.main(["--output", str(tmp_path / "out")], default_reference=tmp_path / "r.json") == 2
    assert "no CPU reference" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_without_cuda_the_probe_says_why_on_stdout(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv(gpu_check.REHEARSAL_ENV, raising=False)
    monkeypatch.setattr(gpu_check, "refusal", lambda rehearsal: "this machine has no CUDA GPU")
    assert gpu_check.main(["--probe"], default_reference=tmp_path / "r.json") == 2
    out, err = capsys.readouterr()
    assert out.strip() == "vadlit: error: gpu-check: this machine has no CUDA GPU" and err == ""
    monkeypatch.setattr(gpu_check, "refusal", lambda rehearsal: None)
    assert gpu_check.main(["--probe"], default_reference=tmp_path / "r.json") == 0
    assert capsys.readouterr().out == ""


def test_a_spent_budget_skips_every_case_and_still_writes_valid_files(monkeypatch, tmp_path):
    monkeypatch.setenv(gpu_check.REHEARSAL_ENV, "1")
    out = tmp_path / "out"
    code = gpu_check.main(["--output", str(out), "--work", str(tmp_path / "work"), "--parts", "throughput",
                           "--budget-s", "1"], default_reference=None)
    assert code == 0
    results = json.loads((out / "gpu_check.json").read_text())
    assert results["check"]["status"] == "finished" and results["check"]["rehearsal"] is True
    cases = results["throughput"]["cases"]
    assert len(cases) == len(rehearsal_plan().throughput_cases())
    assert all("out of time" in c["skipped"] for c in cases)
    assert [g["status"] for g in results["goals"][:2]] == ["not measured", "not measured"]
    assert "bfloat16" in results["dense"]
    assert "## Goals" in (out / "gpu_check.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["gpu_check.json", "gpu_check.md"]  # no temporary file left


def test_the_hard_deadline_keeps_the_partial_results_and_ends_the_sweep(monkeypatch, capsys, tmp_path):
    import argparse
    import subprocess

    monkeypatch.setattr(gpu_check.os, "_exit", lambda code: (_ for _ in ()).throw(SystemExit(code)))
    args = argparse.Namespace(output=str(tmp_path / "out"), work=str(tmp_path / "work"), budget_s=60.0,
                              parts=["throughput", "ablation"], reference=None)
    check = gpu_check.Check(rehearsal_plan(), args, None, True, [])
    check.results["throughput"] = {"cases": [{"case": "ta4 32x32x8 32-true", "model": "ta4", "size": "32x32x8",
                                              "precision": "32-true", "option": None, "skipped": "out of time"}]}
    check.child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    with pytest.raises(SystemExit) as stopped:
        check._hard_stop()
    assert stopped.value.code == 3
    assert check.child.wait(timeout=10) != 0            # the sweep's process group was killed
    results = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert results["check"]["status"] == "stopped at the hard deadline"
    assert results["throughput"]["cases"][0]["skipped"] == "out of time"
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "hard deadline" in err


def test_an_ablation_that_cannot_start_is_recorded_and_the_check_goes_on(monkeypatch, tmp_path):
    from vadlit.tasks.bench import packed_ablation

    def broken(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(packed_ablation, "run_ablation", broken)
    monkeypatch.setenv(gpu_check.REHEARSAL_ENV, "1")
    reference = tmp_path / "r.json"
    reference.write_text(json.dumps(REFERENCE))
    out = tmp_path / "out"
    assert gpu_check.main(["--output", str(out), "--work", str(tmp_path / "work"), "--parts", "ablation"],
                          default_reference=reference) == 0
    results = json.loads((out / "gpu_check.json").read_text())
    assert "no space left" in results["ablation"]["error"]
    assert "no space left" in results["goals"][-2]["status"]
