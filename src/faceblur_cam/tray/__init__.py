"""The tray: an icon whose menu controls the engine and whose picture shows its state.

- ``menu``: the menu, icon choice and notifications as pure functions of ``EngineStatus``.
- ``actions``: what each menu item does (engine commands, login entry, recordings folder).
- ``backend``: importing pystray safely and what differs between its backends.
- ``adapter``: the pystray icon (main thread) fed by engine status (worker thread).
- ``runner``: ``run_tray(engine, config)``, used by ``faceblur-cam run``.

The core knows nothing about the tray: the tray subscribes to the engine and sends commands.
"""

from faceblur_cam.tray.runner import run_tray

__all__ = ["run_tray"]
