"""
The study's pipeline: landmark geometry, routed by clarity
==========================================================

Landmarks become scale-normalised pairwise distances; the variance of the
Laplacian splits the images into three clarity levels, and one classifier is
trained per level. Here on the built-in sample faces, with subjects held out.
"""

# %%
import numpy as np

from fersk.datasets import make_sample_faces
from fersk.evaluation.plot import plot_confusion_matrix, plot_groups
from fersk.study import evaluate, make_study_pipeline

faces = make_sample_faces(n_subjects=6, n_intensities=2)
y = np.asarray(faces.target_names)[faces.target]
train = faces.split == "train"
X = np.asarray(faces.data)  # a stack of gray images: one row per image

pipe = make_study_pipeline(68, routed=True, detector="none")
pipe.fit(X[train], y[train])
levels = pipe.named_steps["features"].transformer_list[1][1].transform(X[~train]).ravel()
report = evaluate(pipe, X[~train], y[~train], clarity_levels=levels)
print(report["overall"])

# %%
# Where the held-out subjects are confused, and how accuracy varies with clarity:
plot_confusion_matrix(y[~train], pipe.predict(X[~train]), labels=faces.target_names)
plot_groups(report["levels"], xlabel="clarity level (0 = blurriest)")
