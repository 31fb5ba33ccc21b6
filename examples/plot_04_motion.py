"""
Facial motion in short clips
============================

:class:`fersk.MotionDelta` reads how far and how fast each landmark moves from
a resting frame, with the head's own motion removed. On the sample clips
(neutral onset, then the expression), motion adds to the apex frame.
"""

# %%
import numpy as np
from sklearn.model_selection import GroupKFold

from fersk.datasets import make_sample_clips
from fersk.evaluation.crossval import cross_val_war_uar
from fersk.evaluation.plot import plot_groups
from fersk.study import make_clip_pipeline

clips = make_sample_clips(n_subjects=6, n_frames=8, onset_frames=2)
y = np.asarray(clips.target_names)[clips.target]
scores = {}
for name, options in [("apex frame", dict(motion=False)), ("apex + motion", dict(motion=True))]:
    pipe = make_clip_pipeline(68, 8, detector="none", **options)
    result = cross_val_war_uar(pipe, clips.data, y, groups=clips.subject, cv=GroupKFold(3))
    scores[name] = {"war": result["war_mean"], "uar": result["uar_mean"]}
    print(name, {k: round(v, 3) for k, v in scores[name].items()})

# %%
plot_groups(scores, xlabel="clip model", title="leave-subjects-out, 3 folds")
