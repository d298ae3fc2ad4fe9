"""Where each frame is searched, with no time budget. Pure: no I/O, no clock.

Every frame is looked at whole at ``COARSE_SIDE`` (large faces, close to the camera) and at its
own resolution (at least ``FINE_SIDE``, so small frames are enlarged), and, when it is large
enough for faces to be small in it, as 2 x 2 overlapping tiles at twice that scale (faces down
to ~10 px). The same jobs are run by each detector (``detect.plan.run_jobs`` merges them).
"""

from __future__ import annotations

from faceblur_cam.detect.jobs import DetectJob

COARSE_SIDE = 320
FINE_SIDE = 640
MAX_SIDE = 1920
TILE_MIN_FRAME = 480  # frames with a shorter long side are enlarged whole instead
TILE_OVERLAP = 0.25
TILE_MAX_SIDE = 1280


def search_jobs(frame_wh: tuple[int, int]) -> list[DetectJob]:
    w, h = frame_wh
    long = max(w, h)
    whole = (0, 0, w, h)
    fine = min(max(long, FINE_SIDE), MAX_SIDE)
    jobs = [DetectJob(whole, COARSE_SIDE, "coarse"), DetectJob(whole, fine, "fine")]
    if long >= TILE_MIN_FRAME:
        scale = 2 * fine / long
        tw, th = w / 2, h / 2
        ox, oy = tw * TILE_OVERLAP, th * TILE_OVERLAP
        for row in range(2):
            for col in range(2):
                x1, y1 = max(0, int(col * tw - ox)), max(0, int(row * th - oy))
                x2, y2 = min(w, int((col + 1) * tw + ox)), min(h, int((row + 1) * th + oy))
                side = min(TILE_MAX_SIDE, int(round(max(x2 - x1, y2 - y1) * scale)))
                jobs.append(DetectJob((x1, y1, x2, y2), side, "tile"))
    return jobs
