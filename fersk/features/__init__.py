"""The feature steps: landmark geometry (``geometry``), clarity levels and the
classifier routed by them (``clarity``, ``routing``), subject conditioning
(``subject``), short-term motion (``temporal``) and the CNN's input
(``preprocess``). Each is an ordinary scikit-learn estimator.
"""
