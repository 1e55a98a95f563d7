# vadlit — every target installs what it needs first (a project-local .venv), then runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SWEEP_STAMP := $(VENV)/.installed-sweep
TORCH_VERSION ?= 2.13.0
# Where a CPU-only machine gets a CPU build of torch when none is offered locally (never CUDA wheels).
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
ARGS ?=
PYTEST_ARGS ?=
CKPT ?=
SWEEP ?=
STUDY ?= ablation_heads
DATA ?= synthetic
ROOT ?=
LOGDIR ?= outputs

.DEFAULT_GOAL := help
INPUT ?=
.PHONY: help install data train eval analyze footage score ablation report bench gpu-check test test-all tensorboard clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
		echo "GPU found: installing the CUDA build of torch==$(TORCH_VERSION)"; \
		$(BIN)/pip install -q "torch==$(TORCH_VERSION)"; \
	else \
		echo "no GPU: installing a CPU build of torch==$(TORCH_VERSION)"; \
		$(BIN)/pip install -q --no-index --no-deps "torch==$(TORCH_VERSION)" 2>/dev/null \
		|| $(BIN)/pip install -q --no-deps "torch==$(TORCH_VERSION)" --index-url $(TORCH_CPU_INDEX); \
	fi
	$(BIN)/pip install -q -e '.[dev,optuna,loggers]'
	@touch $@

# Hydra's Ray and submitit launchers (Ray alone is ~300 MB): only for the targets that launch sweeps on them.
$(SWEEP_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[sweep]'
	@touch $@

install: $(STAMP) ## Create .venv and install vadlit with its dependencies (CPU or CUDA torch)

data: $(STAMP) ## Decode a data set into the frame cache: make data DATA=ucsd_ped2 ROOT=/path/to/UCSDped2
	$(BIN)/vadlit-prepare data=$(DATA) $(if $(ROOT),data.root=$(ROOT)) $(ARGS)

train: $(STAMP) ## Train and test the default model on the embedded synthetic benchmark (ARGS=hydra overrides)
	$(BIN)/vadlit-train $(ARGS)

eval: $(STAMP) ## Test a checkpoint: make eval CKPT=path/to.ckpt [ARGS=...]
	$(BIN)/vadlit-eval ckpt_path=$(CKPT) $(ARGS)

analyze: $(STAMP) ## Attention statistics and maps of a checkpoint on the test clips: make analyze CKPT=... [DATA=...]
	$(BIN)/vadlit-analyze ckpt_path=$(CKPT) data=$(DATA) $(if $(ROOT),data.root=$(ROOT)) $(ARGS)

footage: $(STAMP) ## Test videos of DATA as .mp4 with their labels, to try make score on: outputs/footage/
	$(BIN)/vadlit-prepare data=$(DATA) $(if $(ROOT),data.root=$(ROOT)) export=outputs/footage $(ARGS)

score: $(STAMP) ## Score a video file or frame folder: make score CKPT=... INPUT=video.avi [ARGS=threshold_quantile=0.99]
	$(BIN)/vadlit-score ckpt_path=$(CKPT) input=$(INPUT) $(ARGS)

ablation: $(SWEEP_STAMP) ## The heads study (baseline, 1, 2, 4, 8 heads x 5 seeds) on DATA, packed on every GPU present (else CPU); the sweep writes and prints its report [JOBS_PER_GPU=n]
	@gpus=$$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true); \
	if [ "$${gpus:-0}" -gt 0 ]; then \
		jobs="$(JOBS_PER_GPU)"; \
		if [ -z "$$jobs" ]; then jobs=$$($(BIN)/python -m vadlit.cli.packing model=ta8 data=$(DATA) $(if $(ROOT),data.root=$(ROOT)) \
			hydra.output_subdir=null hydra.run.dir=$$(mktemp -d)) || exit 1; fi; \
		launcher="hydra/launcher=ray_local jobs_per_gpu=$$jobs"; echo "$$gpus GPU(s), $$jobs jobs per GPU (Ray)"; \
	else launcher=""; echo "no GPU: jobs run one after another"; fi; \
	$(BIN)/vadlit-train -m experiment=$(STUDY) data=$(DATA) $(if $(ROOT),data.root=$(ROOT)) $$launcher $(ARGS)

report: $(STAMP) ## Tables, CSV and plot of a sweep: make report [SWEEP=outputs/<study>/multiruns/<sweep>] (default: newest)
	$(BIN)/vadlit-report $(if $(SWEEP),$(SWEEP),"$$(ls -dt outputs/*/multiruns/*/ | head -1)")

bench: $(STAMP) ## Measure training, loading, scoring and attention speed on this machine; tables + bench.json (ARGS=hydra overrides)
	$(BIN)/vadlit-bench $(ARGS)

# Without CUDA, the script's own refusal becomes make's one line (`$(error)`), not a line plus make's "Error 2".
gpu-check: $(STAMP) ## The prepared GPU check: step speed per precision, MFU, the packed ablation vs the CPU (experiments/bench_gpu/; ARGS=--budget-s ...)
	$(eval GPU_REFUSAL := $(shell $(BIN)/python experiments/bench_gpu/check.py --probe $(ARGS)))
	$(if $(GPU_REFUSAL),$(error $(GPU_REFUSAL)))
	PYTHONUNBUFFERED=1 $(BIN)/python experiments/bench_gpu/check.py $(ARGS)

test: $(STAMP) ## Run the test suite (fast tests; under ~8 minutes on 2 CPU cores)
	$(BIN)/pytest $(PYTEST_ARGS)

test-all: $(SWEEP_STAMP) ## Run every test, the slow ones and the launchers' too (installs the sweep extra)
	$(BIN)/pytest -m "" $(PYTEST_ARGS)

tensorboard: $(STAMP) ## Open TensorBoard on every run under outputs/ (LOGDIR=... for another folder; ARGS=--bind_all to serve a remote machine)
	$(BIN)/tensorboard --logdir $(LOGDIR) $(ARGS)

clean: ## Remove the virtual environment and caches (keeps outputs/)
	rm -rf $(VENV) .pytest_cache .cache src/*.egg-info
