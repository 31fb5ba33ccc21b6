"""
Stable predictions on a video
=============================

:class:`fersk.video.VideoAnalyzer` tracks each face, follows its landmarks,
flags expressive motion and smooths the class probabilities over time. Here
the shipped landmark model reads a generated video of a face going from
neutral to happiness and back.
"""

# %%
import pandas as pd

from fersk import load_model
from fersk.datasets import make_sample_video
from fersk.evaluation.plot import plot_timeline
from fersk.video import VideoAnalyzer, count_flips

script = [("neutral", 1.5), ("expression", 2.0, "happiness"), ("neutral", 1.5), ("absent", 0.6)]
video = make_sample_video(size=(320, 240), fps=15, script=script, face_size=140)
rows = pd.DataFrame(VideoAnalyzer(load_model("landmarks-fer2013")).stream(video.frames, fps=15))
faces = rows[rows.face_found]
print(f"label flips: {count_flips(faces.raw_label)} raw, {count_flips(faces.label)} smoothed")

# %%
plot_timeline(rows)
