"""What a vadlit checkpoint carries besides weights, and reading one safely.

Every checkpoint gets a ``vadlit`` record: a format number and model name (so a checkpoint of another
model or a newer vadlit is refused with a clear message instead of a key-mismatch traceback), the
preprocessing the model was trained with (frame size, channels, clip length: new footage is scored
with exactly these, not with settings re-typed by a user), and the per-frame anomaly scores of the
held-out normal validation videos (a threshold can be a quantile of them: chosen without test data).

Checkpoints are read with ``torch.load(weights_only=True)``: tensors and plain containers only, so
opening a checkpoint from elsewhere never runs pickled code.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vadlit import __version__
from vadlit.errors import ConfigError
from vadlit.files import atomic_write
from vadlit.models.ocr_gan_video.hparams import identity_keys

KEY = "vadlit"
FORMAT = 4  # 2: temporal attention on every level, the normal reference; 3: playback head; 4: score_terms, memory at the bottleneck
MODEL = "OCR-GAN Video"
# hyper-parameters every checkpoint of this model has; a checkpoint without them is another model's
REQUIRED_HPARAMS = identity_keys()


def record(preprocessing: dict[str, Any], val_scores: np.ndarray | None) -> dict[str, Any]:
    """The ``vadlit`` entry of a checkpoint (only types ``weights_only`` loading accepts)."""
    return {
        "format": FORMAT,
        "model": MODEL,
        "vadlit_version": __version__,
        "preprocessing": preprocessing,
        "val_scores": None if val_scores is None else torch.as_tensor(np.asarray(val_scores, dtype=np.float32)),
    }


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint at ``path`` as a dict, loaded without executing pickled code and checked to be
    a vadlit OCR-GAN Video checkpoint of a format this version reads."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"ckpt_path={str(path)!r}: no such checkpoint file; expected a .ckpt written by vadlit-train")
    if not zipfile.is_zipfile(path):  # torch.save's format is a zip archive; anything else is not a checkpoint
        raise ConfigError(f"ckpt_path={str(path)!r}: not a torch checkpoint (not the zip archive torch.save "
                          "writes; truncated, or another kind of file); expected a .ckpt written by vadlit-train")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ConfigError(
            f"ckpt_path={str(path)!r}: refusing to load it: it holds pickled objects other than tensors and plain "
            f"containers ({str(exc).splitlines()[0][:200]}); expected a checkpoint written by vadlit-train"
        ) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ConfigError(
            f"ckpt_path={str(path)!r}: not a readable torch checkpoint ({str(exc).splitlines()[0][:200]}); "
            "expected a .ckpt written by vadlit-train (is the file truncated?)"
        ) from exc
    check(state, path)
    return state


def check(state: Any, path: str | Path) -> None:
    """Raise ConfigError unless ``state`` is a checkpoint of this model in a format this version reads."""
    where = f"ckpt_path={str(path)!r}"
    if not isinstance(state, dict) or "state_dict" not in state:
        raise ConfigError(f"{where}: not a Lightning checkpoint (no 'state_dict'); expected a .ckpt written by vadlit-train")
    info = state.get(KEY)
    hparams = state.get("hyper_parameters") or {}
    if info is None:  # written before checkpoints carried a record: accept it only if it is this model
        missing = [k for k in REQUIRED_HPARAMS if k not in hparams]
        if missing:
            raise ConfigError(
                f"{where}: not an {MODEL} checkpoint (its hyper-parameters lack {', '.join(missing)}); "
                "expected a .ckpt written by vadlit-train"
            )
        return
    if not isinstance(info, dict):
        raise ConfigError(f"{where}: its '{KEY}' record is a {type(info).__name__}, not the mapping vadlit writes; "
                          "the checkpoint was altered or not written by vadlit-train")
    if info.get("model") != MODEL:
        raise ConfigError(f"{where}: a checkpoint of model {info.get('model')!r}; this vadlit scores {MODEL!r} checkpoints")
    if isinstance(info.get("format", 0), bool) or not isinstance(info.get("format", 0), int):
        raise ConfigError(f"{where}: its '{KEY}' record has format={info.get('format')!r}; expected an integer "
                          "format number (the checkpoint was altered or not written by vadlit-train)")
    if int(info.get("format", 0)) > FORMAT:
        raise ConfigError(
            f"{where}: checkpoint format {info.get('format')} was written by vadlit {info.get('vadlit_version')}; "
            f"this vadlit {__version__} reads format {FORMAT} or older: upgrade vadlit"
        )
    wrong = _malformed(info)
    if wrong:
        raise ConfigError(f"{where}: its '{KEY}' record is malformed: {wrong} (the checkpoint was altered or not "
                          "written by vadlit-train)")


def _malformed(info: dict) -> str | None:
    """What is wrong with a record's preprocessing and validation scores, or None."""
    pre = info.get("preprocessing")
    if pre is not None:
        if not isinstance(pre, dict):
            return f"preprocessing is a {type(pre).__name__}; expected a mapping"
        size = pre.get("image_size")
        if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(_positive(v) for v in size)):
            return f"preprocessing.image_size={size!r}; expected [height, width] in pixels"
        if pre.get("channels") not in (1, 3):
            return f"preprocessing.channels={pre.get('channels')!r}; expected 1 (grey) or 3 (RGB)"
        for key in ("clip_len", "eval_stride"):
            if key in pre and not _positive(pre[key]):
                return f"preprocessing.{key}={pre[key]!r}; expected a positive integer"
    scores = info.get("val_scores")
    if scores is not None and not (isinstance(scores, torch.Tensor) and scores.ndim == 1 and scores.is_floating_point()):
        return f"val_scores is a {type(scores).__name__}; expected a 1-D float tensor of frame scores"
    return None


def _positive(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def preprocessing(state: dict[str, Any]) -> dict[str, Any]:
    """Frame size, channels and clip length the checkpoint's model was trained with."""
    info = state.get(KEY) or {}
    if info.get("preprocessing"):
        return dict(info["preprocessing"])
    hp = state["hyper_parameters"]
    size = hp["image_size"]
    size = [size, size] if isinstance(size, int) else list(size)
    return {"image_size": size, "channels": int(hp["in_channels"]), "clip_len": int(hp["clip_len"])}


def val_scores(state: dict[str, Any]) -> np.ndarray | None:
    """Per-frame scores of the held-out normal validation videos at this checkpoint, if recorded."""
    scores = (state.get(KEY) or {}).get("val_scores")
    return None if scores is None else scores.numpy().astype(np.float64)


def store_reference(path: str | Path, module: torch.nn.Module) -> None:
    """Write ``module``'s fitted score reference (buffers under ``reference.``) and its validation
    scores into the checkpoint at ``path``, so that later evaluations and ``vadlit-score`` use the
    same reference without the training data. Replaced atomically (temporary file beside it)."""
    path = Path(path)
    state = read_checkpoint(path)
    state["state_dict"].update({k: v.detach().cpu() for k, v in module.state_dict().items() if k.startswith("reference.")})
    if state.get(KEY) is not None and getattr(module, "val_scores", None) is not None:
        state[KEY]["val_scores"] = torch.as_tensor(np.asarray(module.val_scores, dtype=np.float32))
    atomic_write(path, lambda f: torch.save(state, f))
