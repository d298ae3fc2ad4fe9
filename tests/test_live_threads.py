"""The live pipeline runs OpenCV on one thread per call; files keep OpenCV's worker pool
(``app.one_opencv_thread``). In a child process: the setting is process-wide."""

import subprocess
import sys

CHILD = """
import cv2
from faceblur_cam.app import build_pipeline
from faceblur_cam.config import Config
cv2.setNumThreads(4)
build_pipeline(Config(), live=False).close()
print(cv2.getNumThreads())
build_pipeline(Config(), live=True).close()
print(cv2.getNumThreads())
"""


def test_the_live_pipeline_uses_one_opencv_thread_and_files_keep_the_pool():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.split() == ["4", "1"]
