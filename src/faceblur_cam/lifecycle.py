"""The engine's life cycle as a table: ``transition(state, happening) -> (state, effects)``. Pure.

A *happening* is a typed command from a user (``Pause``, ``Resume``, ``TogglePause``, ``Quit``)
or a typed report from the worker about its devices (``PipelineFailed``, ``CameraOpened``,
``CameraFailed``, ``SourceEnded``, ``FrameProtected``). The table says which state follows and
which effects the worker carries out, in order. Pairs not in the table change nothing.

The other commands (``SetStyle``, ``SetRecording``, ``SetPreview``, ``SetKeepMe``, ``PickMe``)
change outputs, not the state, and are applied by the worker directly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EngineState(enum.Enum):
    STARTING = "starting"  # model loading / camera opening; cards until the first protected frame
    PROTECTING = "protecting"  # live, faces obscured
    PAUSED = "paused"  # camera released, "paused" card published
    NO_CAMERA = "no_camera"  # camera missing or failed; retrying with backoff
    ERROR = "error"  # cannot protect (the model failed to load); error card published
    STOPPED = "stopped"


# ----------------------------------------------------------------------------- commands
@dataclass(frozen=True)
class Pause:
    """Release the camera and publish the "paused" card."""


@dataclass(frozen=True)
class Resume:
    """Open the camera again; the first frames are protected like at start-up."""


@dataclass(frozen=True)
class TogglePause:
    """Pause when live, resume when paused."""


@dataclass(frozen=True)
class SetStyle:
    style: str  # one of ``config.STYLES``; an unknown one is refused with a warning


@dataclass(frozen=True)
class SetRecording:
    on: bool


@dataclass(frozen=True)
class SetPreview:
    on: bool


@dataclass(frozen=True)
class SetKeepMe:
    """Keep me visible on (picks "me" on the next frame with a face) or off (everyone covered)."""

    on: bool


@dataclass(frozen=True)
class PickMe:
    """"That's me": pick the largest face nearest the centre again (switches keep-me on)."""


@dataclass(frozen=True)
class Quit:
    """Stop: close everything and end the worker."""


Command = Pause | Resume | TogglePause | SetStyle | SetRecording | SetPreview | SetKeepMe | PickMe | Quit
COMMAND_TYPES = (Pause, Resume, TogglePause, SetStyle, SetRecording, SetPreview, SetKeepMe, PickMe, Quit)


# ----------------------------------------------------------------------------- worker reports
@dataclass(frozen=True)
class PipelineFailed:
    """The protecting step could not be built (model missing or damaged)."""


@dataclass(frozen=True)
class CameraOpened:
    pass


@dataclass(frozen=True)
class CameraFailed:
    """The camera could not be opened, or stopped delivering."""


@dataclass(frozen=True)
class SourceEnded:
    """A file standing in for the camera reached its end (and does not loop)."""


@dataclass(frozen=True)
class FrameProtected:
    pass


Happening = Pause | Resume | TogglePause | Quit | PipelineFailed | CameraOpened | CameraFailed | SourceEnded \
    | FrameProtected


class Effect(enum.Enum):
    CLOSE_CAMERA = "close the camera"
    RESET_PIPELINE = "forget tracked faces (the next frame is protected like the first)"
    RETRY_CAMERA_LATER = "schedule the next camera open with backoff"
    RETRY_CAMERA_NOW = "forget the camera backoff"
    STOP = "end the worker (it closes everything on its way out)"


S = EngineState
E = Effect
LIVE = (S.STARTING, S.PROTECTING, S.NO_CAMERA)

# (state, happening type) -> (next state, effects)
TABLE: dict[tuple[EngineState, type], tuple[EngineState, tuple[Effect, ...]]] = {
    **{(s, Pause): (S.PAUSED, (E.CLOSE_CAMERA,)) for s in LIVE},
    **{(s, TogglePause): (S.PAUSED, (E.CLOSE_CAMERA,)) for s in LIVE},
    (S.PAUSED, Resume): (S.STARTING, (E.RESET_PIPELINE, E.RETRY_CAMERA_NOW)),
    (S.PAUSED, TogglePause): (S.STARTING, (E.RESET_PIPELINE, E.RETRY_CAMERA_NOW)),
    (S.STARTING, PipelineFailed): (S.ERROR, ()),
    (S.STARTING, CameraOpened): (S.STARTING, (E.RETRY_CAMERA_NOW,)),
    (S.NO_CAMERA, CameraOpened): (S.STARTING, (E.RETRY_CAMERA_NOW,)),
    **{(s, CameraFailed): (S.NO_CAMERA, (E.CLOSE_CAMERA, E.RESET_PIPELINE, E.RETRY_CAMERA_LATER)) for s in LIVE},
    **{(s, SourceEnded): (s, (E.CLOSE_CAMERA,)) for s in LIVE},
    (S.STARTING, FrameProtected): (S.PROTECTING, ()),
    **{(s, Quit): (s, (E.STOP,)) for s in EngineState},
}


def transition(state: EngineState, happening: Happening) -> tuple[EngineState, tuple[Effect, ...]]:
    """The next state and the effects to carry out; a pair not in the table changes nothing.

    Notably: an ERROR (no model) stays an error whatever the user presses, and a frame or a
    camera report while PAUSED (from before the pause took effect) changes nothing.
    """
    return TABLE.get((state, type(happening)), (state, ()))
