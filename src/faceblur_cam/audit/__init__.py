"""The audit: an independent second look at published frames (``faceblur-cam audit``).

- ``search``: where and at which scales each frame is searched (whole frame plus tiles, no time
  budget), by CenterFace and by YuNet;
- ``detail``: whether the picture inside a found face still carries detail (not covered);
- ``auditor``: one frame in, its suspects out (a face found that still carries detail);
- ``report``: the JSON report and the contact sheet.
"""
