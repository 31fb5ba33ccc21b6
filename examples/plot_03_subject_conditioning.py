"""
Subject conditioning, cross-validated by subject
================================================

People's resting faces differ. :class:`fersk.SubjectNeutralizer` subtracts each
person's baseline; subject ids travel as ``groups`` through scikit-learn's
metadata routing, and folds never share a subject.
"""

# %%
import numpy as np
import sklearn
from sklearn.model_selection import GroupKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fersk import LandmarkExtractor, PairwiseDistance, SubjectNeutralizer
from fersk.datasets import make_sample_faces
from fersk.evaluation.crossval import cross_val_war_uar
from fersk.evaluation.plot import plot_recall

faces = make_sample_faces(n_subjects=8, n_intensities=2, blur_sigmas=(0.0,))
y = np.asarray(faces.target_names)[faces.target]
points = LandmarkExtractor(5, detector="none").fit_transform(faces.data)

sklearn.set_config(enable_metadata_routing=True)
recalls = {}
for name, steps in [
    ("raw distances", []),
    ("minus the subject's mean", [SubjectNeutralizer(shrinkage=2.0)]),
]:
    model = make_pipeline(
        PairwiseDistance(), *steps, StandardScaler(), MLPClassifier(max_iter=800, random_state=0)
    )
    result = cross_val_war_uar(model, points, y, groups=faces.subject, cv=GroupKFold(4))
    print(f"{name}: WAR {result['war_mean']:.3f}, UAR {result['uar_mean']:.3f}")
    recalls[name] = result["per_class_recall"]
sklearn.set_config(enable_metadata_routing=False)

# %%
plot_recall(recalls, title="5 landmarks, leave-subjects-out")
