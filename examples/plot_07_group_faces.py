"""
Calibrated to each person, nobody named
=======================================

Reading a face against its own person's baseline needs to know who is who.
``group_faces=True`` (``fersk predict --group-faces``) finds it out: every face
is described by dlib's face-recognition network
(:func:`fersk.landmarks.identity.face_descriptors`), faces closer than dlib's
0.6 are one person (:func:`fersk.landmarks.identity.group_faces`), and each
group is read against its own mean, or against a neutral photo flagged among
them. It is meant for a few people seen several times each, in several
expressions, not for a crowd of strangers. Here each person is seen in one
expression only, so what this shows is who is who.
"""

# %%
import cv2
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook
from skimage.data import astronaut

from fersk import predict_faces
from fersk.io import face_crop, read_image
from fersk.landmarks import find_faces
from fersk.landmarks.identity import SAME_PERSON, face_descriptors

eileen = astronaut()  # public domain, from scikit-image
grace = read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), color="rgb")
# three photos of each (mirrored, smaller), shuffled together; Grace's first one is
# flagged as a neutral reference of whoever it shows
photos = [eileen, grace[:, ::-1], eileen[::2, ::2], grace, eileen[:, ::-1], grace[::2, ::2]]
neutral = [False, True, False, False, False, False]
rows = predict_faces(photos, group_faces=True, neutral=neutral, progress=False)
print(rows[["face", "person", "calibration", "n_references"]])

# %%
# Who is who: the descriptors' distances, under dlib's 0.6 for the same person.
boxes = [find_faces(photo)[0][0] for photo in photos]
D = np.vstack([face_descriptors(photo, box[None]) for photo, box in zip(photos, boxes)])
distance = np.linalg.norm(D[:, None] - D[None], axis=2)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [3, 2]})
strip = np.hstack([cv2.resize(face_crop(p, b), (96, 96)) for p, b in zip(photos, boxes)])
axes[0].imshow(strip)
axes[0].set_xticks(48 + 96 * np.arange(len(photos)), rows["person"], fontsize=8)
axes[0].set_yticks([])
axes[0].set_title("each photo's face and the group it joined")
axes[1].imshow(distance < SAME_PERSON, cmap="Greens")
axes[1].set_title(f"distance < {SAME_PERSON}")
fig.tight_layout()
plt.show()
