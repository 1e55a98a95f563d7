"""What the prepared GPU check measures, in the order it measures it, and what each part may cost.

The check has one try on a borrowed GPU with a fixed time limit, so the plan is ordered by what the
issue's goals need: the four training cases of the mixed-precision goal (128x128x16, 32-true and
bf16-mixed, baseline and ta4) first, then the packed ablation, then the remaining precisions and
options, `compile` last (its first steps compile the graphs: about a minute a case, against
seconds for the others). A case whose estimate no longer fits is recorded as skipped, not run.

Not every combination is run: the three precisions plain at both sizes (12 cases) say what the
precision buys; `channels_last` and `compile` are measured on top of bf16-mixed, the default on
Hopper, where they would be used (4 + 2 cases). `compile` is measured for ta4 only, the default
model, whose attention and elementwise ops are what fusion can save; baseline x compile would add
about two minutes the budget does not have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")
OPTIONS = ("channels_last", "compile")


@dataclass(frozen=True)
class Size:
    name: str                 # shown in tables: 64x64x8, 128x128x16
    overrides: tuple[str, ...]


@dataclass(frozen=True)
class ThroughputCase:
    """One training-step measurement: a model at a size, in a precision, with an option or none."""

    model: str
    size: Size
    precision: str
    option: str | None = None
    early: bool = False       # measured before the ablation (the mixed-precision goal's cases)

    @property
    def name(self) -> str:
        return f"{self.model} {self.size.name} {self.precision}" + (f" + {self.option}" if self.option else "")

    @property
    def overrides(self) -> list[str]:
        extra = [f"model.{self.option}=true"] if self.option else []
        return [f"model={self.model}", *self.size.overrides, f"trainer.precision={self.precision}", *extra]


@dataclass(frozen=True)
class CheckPlan:
    sizes: tuple[Size, ...]
    models: tuple[str, ...]
    precisions: tuple[str, ...]
    options: tuple[str, ...]
    compile_models: tuple[str, ...]
    base_overrides: tuple[str, ...] = ()    # every throughput case (the rehearsal's tiny model)
    warmup_steps: int = 3                   # untimed; the first counts the FLOPs
    steps: int = 20                         # timed, one synchronised region
    compile_warmup_steps: int = 5           # compilation happens in the first steps
    dense_sizes: tuple[int, ...] = (8192,)  # n x n x n matmul, the MFU reference
    dense_repeats: int = 5
    case_estimate_s: float = 12.0           # what a plain case is expected to take, set-up included
    compile_estimate_s: float = 90.0
    # the packed ablation
    seeds: tuple[int, ...] = (0, 1, 2)
    ablation_overrides: tuple[str, ...] = ()  # the rehearsal's tiny data and model
    ablation_models: tuple[str, ...] | None = None  # None: the experiment's own (baseline, ta1, ta2, ta4, ta8)
    jobs_per_gpu: int = 15
    launcher: str = "packed"
    ablation_cap_s: float = 300.0
    goal_size: str = "128x128x16"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def goal_size_obj(self) -> Size:
        return next(s for s in self.sizes if s.name == self.goal_size)

    def throughput_cases(self) -> list[ThroughputCase]:
        """Every case, in the order measured: the goal's cases (`early`), then the other precisions at
        the goal size, every precision at the other sizes, the options on bf16-mixed, compile last."""
        goal = self.goal_size_obj()
        mixed = "bf16-mixed" if "bf16-mixed" in self.precisions else self.precisions[-1]
        cases = [ThroughputCase(m, goal, p, early=True) for m in self.models for p in ("32-true", mixed)
                 if p in self.precisions]
        cases += [ThroughputCase(m, goal, p) for m in self.models for p in self.precisions
                  if p not in ("32-true", mixed)]
        others = [s for s in self.sizes if s.name != goal.name]
        cases += [ThroughputCase(m, s, p) for s in others for m in self.models for p in self.precisions]
        for option in (o for o in self.options if o != "compile"):
            cases += [ThroughputCase(m, s, mixed, option) for s in (goal, *others) for m in self.models]
        if "compile" in self.options:
            cases += [ThroughputCase(m, s, mixed, "compile") for m in self.compile_models for s in (*others, goal)]
        return cases

    def estimate(self, case: ThroughputCase) -> float:
        return self.compile_estimate_s if case.option == "compile" else self.case_estimate_s

    def record(self) -> dict:
        return {
            "sizes": {s.name: list(s.overrides) for s in self.sizes}, "models": list(self.models),
            "precisions": list(self.precisions), "options": list(self.options),
            "compile_models": list(self.compile_models), "base_overrides": list(self.base_overrides),
            "warmup_steps": self.warmup_steps, "steps": self.steps, "compile_warmup_steps": self.compile_warmup_steps,
            "dense_sizes": list(self.dense_sizes), "seeds": list(self.seeds), "jobs_per_gpu": self.jobs_per_gpu,
            "launcher": self.launcher, "ablation_models": None if self.ablation_models is None else list(self.ablation_models),
            "ablation_overrides": list(self.ablation_overrides), "ablation_cap_s": self.ablation_cap_s,
            "notes": list(self.notes),
        }


def gpu_plan(jobs_per_gpu: int = 15, launcher: str = "packed", ablation_cap_s: float = 300.0) -> CheckPlan:
    """The check for one H100/H200: batch 16 (the training default) at both sizes."""
    return CheckPlan(
        sizes=(Size("64x64x8", ()), Size("128x128x16", ("data.image_size=128", "data.clip_len=16"))),
        models=("baseline", "ta4"), precisions=PRECISIONS, options=OPTIONS, compile_models=("ta4",),
        jobs_per_gpu=jobs_per_gpu, launcher=launcher, ablation_cap_s=ablation_cap_s,
    )


# The tests' tiny run (tests/helpers/runs.py TINY), spelled out here: the rehearsal may not import tests.
TINY_RUN = ("debug=smoke", "data.source.n_train=3", "data.source.n_test=2", "data.source.frames=48",
            "data.source.kinds=[object,running]", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
            "logger=none")
TINY_MODEL = ("model.base_channels=8", "model.d_base_channels=8", "model.nz=16")


def rehearsal_plan(launcher: str = "packed") -> CheckPlan:
    """The same pipeline on a CPU in well under a minute: tiny sizes, 1 step, 2 jobs, no compile
    (for the test of the check's plumbing only; its numbers mean nothing)."""
    return CheckPlan(
        sizes=(Size("32x32x4", ("data.image_size=32", "data.clip_len=4", "data.batch_size=2")),
               Size("32x32x8", ("data.image_size=32", "data.clip_len=8", "data.batch_size=2"))),
        models=("baseline", "ta4"), precisions=("32-true", "bf16-mixed"), options=("channels_last",),
        compile_models=(), base_overrides=TINY_MODEL, warmup_steps=1, steps=1, compile_warmup_steps=1,
        dense_sizes=(128,), dense_repeats=1, case_estimate_s=1.0, seeds=(0,), ablation_overrides=TINY_RUN,
        ablation_models=("baseline", "ta4"), jobs_per_gpu=2, launcher=launcher, ablation_cap_s=240.0,
        goal_size="32x32x8", notes=("rehearsal on a CPU: tiny sizes, 1 step, 2 jobs; the numbers mean nothing",),
    )
