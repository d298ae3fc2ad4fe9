"""The detector registry (installed as ``faceblur_cam.classifiers``); see README.md here."""
