"""DataLoader workers: started with forkserver inside a Ray job (ray#13407), and handed the frame
cache as files, not as copies of every frame."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from vadlit.data.workers import MappedArray, worker_start_method


def test_a_mapped_array_pickles_as_its_file_and_a_slice_as_its_values(tmp_path):
    path = tmp_path / "frames.npy"
    np.save(path, np.arange(64 * 64 * 50, dtype=np.uint32).astype(np.uint8).reshape(50, 64, 64))
    frames = MappedArray.open(path)
    blob = pickle.dumps(frames)
    assert len(blob) < 1000, "the whole array travels as its path"
    again = pickle.loads(blob)
    assert isinstance(again, np.memmap) and np.array_equal(again, frames)
    part = pickle.loads(pickle.dumps(frames[3:5]))
    assert part.shape == (2, 64, 64) and np.array_equal(part, frames[3:5])


def test_workers_start_with_forkserver_in_a_ray_job_only(monkeypatch):
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    assert worker_start_method(2) is None and worker_start_method(0) is None
    context = types.SimpleNamespace(get_assigned_resources=lambda: {"CPU": 1.0})
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(
        is_initialized=lambda: True, get_runtime_context=lambda: context, get_gpu_ids=lambda: []))
    assert worker_start_method(2) == "forkserver"
    assert worker_start_method(0) is None, "no workers, nothing to start"


class _Frames(Dataset):
    def __init__(self, frames):
        self.frames = frames

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return torch.from_numpy(np.array(self.frames[i]))


def test_forkserver_workers_read_the_mapped_cache(tmp_path):
    path = tmp_path / "frames.npy"
    np.save(path, np.arange(8 * 4 * 4, dtype=np.uint8).reshape(8, 4, 4))
    loader = DataLoader(_Frames(MappedArray.open(path)), batch_size=4, num_workers=2,
                        multiprocessing_context="forkserver")
    assert torch.equal(torch.cat(list(loader)), torch.from_numpy(np.load(path)))
