"""
The CNN: the study's network and its compact CPU member
=======================================================

:class:`fersk.cnn.BaselineCNN` is the network of Stoychev & Gunes (2022);
:class:`fersk.cnn.CompactCNN` is the same family at a quarter of its width and
two convolutions a block, the one fersk trains on CPUs and ships. Both are
skorch estimators: ``GridSearchCV`` tunes their optimizer and learning rate.
A few epochs on the sample faces show the training curves.
"""

# %%
import numpy as np
import torch

from fersk import CNNPreprocessor
from fersk.cnn import BaselineCNN, CNNClassifier, CompactCNN, count_parameters
from fersk.datasets import make_sample_faces
from fersk.evaluation.plot import plot_history

print(f"BaselineCNN at 100 px: {count_parameters(BaselineCNN(size=100)):,} parameters")
print(f"CompactCNN at 48 px: {count_parameters(CompactCNN(size=48)):,} parameters")

faces = make_sample_faces(n_subjects=4, n_intensities=2, blur_sigmas=(0.0,), image_size=48)
X = CNNPreprocessor(48, dtype="uint8").fit_transform(faces.data)  # decoded once, uint8
y = np.asarray(faces.target_names)[faces.target]
net = CNNClassifier(
    CompactCNN,
    optimizer=torch.optim.AdamW,
    lr=3e-3,
    max_epochs=6,
    batch_size=16,
    schedule="onecycle",
    valid_size=0.25,
).fit(X, y)

# %%
plot_history(net)
