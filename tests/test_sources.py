"""Sources: frames are fitted to the output size as BGR; files play in order."""

import numpy as np
import pytest

from faceblur_cam.sources import SourceError
from faceblur_cam.sources.files import FileSource, iter_frames
from faceblur_cam.sources.fit import fit


@pytest.mark.parametrize("shape", [(480, 640, 3), (720, 1280), (720, 1280, 4), (100, 400, 3)])
def test_fit_gives_bgr_of_the_output_size_keeping_the_aspect(shape):
    image = np.full(shape, 200, np.uint8)
    out = fit(image, (1280, 720))
    assert out.shape == (720, 1280, 3) and out.dtype == np.uint8
    assert out[360, 640].tolist() == [200, 200, 200]


def test_image_folder_plays_in_name_order_and_once(eval_dir):
    frames = list(iter_frames(eval_dir / "otb_girl" / "img", fps=25))
    assert [f.name for f in frames[:3]] == ["0001.jpg", "0002.jpg", "0003.jpg"] and len(frames) == 500
    assert frames[25].t == pytest.approx(1.0)


def test_missing_or_empty_sources_are_clear_errors(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        list(iter_frames(tmp_path / "nope.mp4"))
    with pytest.raises(SourceError, match="no images"):
        list(iter_frames(tmp_path))
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(SourceError):
        FileSource(tmp_path / "broken.mp4")
