"""The embedded synthetic surveillance benchmark: a fixed camera over a walkway with pedestrians.

Real data sets need downloads and long training runs; this one is generated in seconds, is
deterministic, and knows its anomalies pixel by pixel. Each anomaly kind probes one ability of a
detector:

- ``object``: a vehicle drives along the walkway (appearance: visible in any single frame);
- ``running``: a pedestrian at 3-5x walking speed. The gait phase follows the distance travelled,
  so every single frame shows a normal walker's pose: only motion gives it away;
- ``loitering``: a pedestrian walks in and stops, frozen in a pose walkers pass through (motion).
  The stop is labelled only from its `LOITER_ONSET`-th frame on: until then it looks like walking
  in a short window, and a pause that short is normal;
- ``crossing``: a pedestrian walks across the walkway instead of along it (trajectory; while
  crossing they are seen from the front or back, which walkers along the path never show).

The background depends on ``seed`` only (one fixed camera per seed). Each video is generated from
``np.random.default_rng([seed, split_id, index])``, so videos are independent of each other and of
the order in which they are loaded. Everything is drawn in RGB in 0..255 floats and converted to
grey at the end, so both channel settings show the same scene.

The package holds one stage of the generator per module: `config` (the checked arguments), `scene`
(the static background), `sprites` (what people and vehicles look like), `actors` (trajectories and
the normal traffic), `events` (the anomalies and their labels), `render` (drawing the frames) and
`source` (`SyntheticSource`, which chains them into videos).
"""

from vadlit.data.sources.synthetic.actors import NORMAL_SPEED
from vadlit.data.sources.synthetic.config import CONFIG_PREFIX, KINDS, MIN_FRAMES, MIN_IMAGE_SIZE
from vadlit.data.sources.synthetic.events import LOITER_ONSET, RUN_FACTOR
from vadlit.data.sources.synthetic.source import GENERATOR_VERSION, SyntheticSource

__all__ = [
    "CONFIG_PREFIX",
    "GENERATOR_VERSION",
    "KINDS",
    "LOITER_ONSET",
    "MIN_FRAMES",
    "MIN_IMAGE_SIZE",
    "NORMAL_SPEED",
    "RUN_FACTOR",
    "SyntheticSource",
]
