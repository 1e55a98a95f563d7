"""Set-up every test shares: vadlit's config resolvers, and at most two torch threads."""

from __future__ import annotations

import os

import torch

from vadlit.config.resolvers import register

register()  # the configs use vadlit's resolvers; entry points register them when they start (cli/process.py)

torch.set_num_threads(min(2, os.cpu_count() or 1))
