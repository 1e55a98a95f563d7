"""`make ablation`'s packing: as many jobs per GPU as memory, cores and the cap allow."""

from __future__ import annotations

from vadlit.tasks.packing import CONTEXT_BYTES, MAX_JOBS_PER_GPU, choose

GiB = 2**30


def test_small_jobs_on_a_large_gpu_stop_at_the_cap():
    packing = choose(peak_bytes=200 * 2**20, gpu_bytes=140 * GiB, cpus=16, gpus=1)
    assert packing.jobs_per_gpu == MAX_JOBS_PER_GPU and "the cap" in packing.reason


def test_memory_limits_large_jobs():
    # 4 GiB training peak -> 8 GiB + context a job: 2 fit in 90% of 24 GiB
    packing = choose(peak_bytes=4 * GiB, gpu_bytes=24 * GiB, cpus=64, gpus=1)
    assert packing.jobs_per_gpu == int(0.9 * 24 * GiB // (8 * GiB + CONTEXT_BYTES)) == 2
    assert "memory" in packing.reason


def test_cores_are_shared_by_the_gpus():
    packing = choose(peak_bytes=100 * 2**20, gpu_bytes=80 * GiB, cpus=12, gpus=4)
    assert packing.jobs_per_gpu == 3 and "CPU cores" in packing.reason


def test_a_job_too_large_for_the_gpu_still_runs_alone():
    assert choose(peak_bytes=40 * GiB, gpu_bytes=24 * GiB, cpus=8, gpus=1).jobs_per_gpu == 1
