"""FaceBlur Cam: a virtual webcam that obscures every face before your call sees it.

Images are BGR ``uint8`` arrays of shape ``(H, W, 3)`` everywhere in this package.
"""

__import__("os").environ["ORT_DISABLE_TELEMETRY"] = "1"  # onnxruntime's pip build phones home otherwise
__version__ = "0.1.0"
APP_NAME = "FaceBlur Cam"
