"""
The emotion on a photo, with a shipped model
============================================

fersk ships models trained on FER2013, so a photo can be read right after
install: :func:`fersk.predict_faces` finds every face, crops it the way the
model saw faces in training, and returns one row per face.
"""

# %%
import matplotlib.pyplot as plt
from skimage.data import astronaut

from fersk import LandmarkExtractor, predict_faces
from fersk.evaluation.plot import plot_landmarks
from fersk.io import face_crop
from fersk.landmarks import find_faces

photo = astronaut()  # public-domain photo from scikit-image
rows = predict_faces([photo])
print(rows[["face", "label", "confidence"]])

# %%
# The face, as the model sees it, and its 68 landmarks:
(box,), _ = find_faces(photo)
crop = face_crop(photo, box)
points = LandmarkExtractor(68, detector="none").fit_transform([crop])[0]
fig = plot_landmarks(crop, points)
fig.axes[0].set_title(f"{rows.label[0]} ({rows.confidence[0]:.2f})")
plt.show()
