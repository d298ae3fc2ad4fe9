import cv2
import numpy as np
import pytest
from conftest import textured_frame
from hypothesis import given, settings
from hypothesis import strategies as st

from faceblur_cam.geometry import Margin, grow, region_mask
from faceblur_cam.redact import STYLES, Blur, Redactor, obscure_frame, style_named

regions = st.lists(
    st.tuples(st.integers(-40, 300), st.integers(-40, 220), st.integers(4, 160), st.integers(4, 160)).map(
        lambda t: [t[0], t[1], t[0] + t[2], t[1] + t[3]]),
    min_size=0, max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(rs=regions, style=st.sampled_from(sorted(STYLES)), shape=st.sampled_from(["ellipse", "box"]))
def test_pixels_outside_regions_are_untouched(rs, style, shape):
    frame = textured_frame()
    arr = np.array(rs, np.float32).reshape(-1, 4)
    out = Redactor(style_named(style), shape).redact(frame.copy(), arr)
    outside = ~region_mask(arr, (320, 240), shape)
    assert np.array_equal(out[outside], frame[outside])


@pytest.mark.parametrize("style", sorted(STYLES))
def test_inside_of_region_is_changed(style):
    frame = textured_frame()
    region = np.array([[100, 60, 200, 180]], np.float32)
    out = Redactor(style_named(style)).redact(frame.copy(), region)
    inside = region_mask(region, (320, 240))
    changed = np.any(out != frame, axis=2)[inside].mean()
    assert changed > 0.95


def test_unknown_style_is_a_clear_error():
    with pytest.raises(ValueError, match="pixelate"):
        style_named("sparkles")


def high_frequency_energy(crop: np.ndarray, cycles: float) -> float:
    """Spectral energy of a crop above ``cycles`` per crop width (grey levels, mean removed)."""
    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float64)
    h, w = g.shape
    g = (g - g.mean()) * np.outer(np.hanning(h), np.hanning(w))  # window: no edge leakage
    f = np.abs(np.fft.fftshift(np.fft.fft2(g))) ** 2
    fy, fx = np.meshgrid(np.arange(h) - h // 2, np.arange(w) - w // 2, indexing="ij")
    radius = np.hypot(fx / w, fy / h) * w  # cycles per crop width
    return float(f[radius > cycles].sum() / f.size)


def face_crops(dlib_images, redact):
    """(original, redacted) crops of each dlib face's detector-sized box, upscaled to 128 px."""
    pairs = []
    for image, boxes in dlib_images:
        for x, y, w, h in boxes:
            region = grow(np.array([[x, y, x + w, y + h]], np.float32), Margin())
            out = redact(image.copy(), region)
            x, y, w, h = int(x), int(y), int(w), int(h)
            a = cv2.resize(image[y:y + h, x:x + w], (128, 128), interpolation=cv2.INTER_CUBIC)
            b = cv2.resize(out[y:y + h, x:x + w], (128, 128), interpolation=cv2.INTER_CUBIC)
            pairs.append((a, b))
    return pairs


def detail_kept(pairs, cycles=6.0):
    """Median share of the original's fine detail (above ``cycles`` per face) left in the output,
    and the median correlation of the fine detail of output and original."""
    kept, corr = [], []
    for a, b in pairs:
        ea, eb = high_frequency_energy(a, cycles), high_frequency_energy(b, cycles)
        kept.append(eb / max(ea, 1e-9))
        sigma = 128 / cycles / 2
        ha = a.astype(np.float64) - cv2.GaussianBlur(a, (0, 0), sigma).astype(np.float64)
        hb = b.astype(np.float64) - cv2.GaussianBlur(b, (0, 0), sigma).astype(np.float64)
        inner = slice(16, -16)  # away from the crop border
        corr.append(np.corrcoef(ha[inner, inner].ravel(), hb[inner, inner].ravel())[0, 1])
    return float(np.median(kept)), float(np.median(corr))


def test_default_blur_keeps_no_more_than_a_coarse_mosaic(dlib_images):
    """Irreversible by default: above ~6 cycles per face, the default output has (almost) none of
    the original's detail, and what little texture it has is unrelated to the face."""
    kept, corr = detail_kept(face_crops(dlib_images, Redactor().redact))
    assert kept < 0.01, kept
    assert abs(corr) < 0.15, corr


def test_the_irreversibility_check_can_fail_a_light_blur(dlib_images):
    """A light Gaussian blur (what many tools ship) keeps face detail: the same check flags it."""

    def light_blur(image, regions):
        x1, y1, x2, y2 = regions[0].astype(int)
        x1, y1 = max(x1, 0), max(y1, 0)
        image[y1:y2, x1:x2] = cv2.GaussianBlur(image[y1:y2, x1:x2], (0, 0), 1.5)
        return image

    kept, corr = detail_kept(face_crops(dlib_images, light_blur))
    assert kept > 0.01 or corr > 0.15


def test_blur_strength_scales_with_face_size():
    """A close (big) face is as obscured as a far one: cells per face, not a fixed kernel."""
    small, big = textured_frame((64, 64), 1), textured_frame((512, 512), 2)
    for crop in (small, big):
        out = Blur().obscure(crop, (float(crop.shape[1]), float(crop.shape[0])))
        assert high_frequency_energy(out, 8) < 0.01 * high_frequency_energy(crop, 8)


def test_obscure_frame_hides_everything():
    frame = textured_frame((640, 480))
    out = obscure_frame(frame)
    assert out.shape == frame.shape
    assert high_frequency_energy(out, 30) < 0.01 * high_frequency_energy(frame, 30)
