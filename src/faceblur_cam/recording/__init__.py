"""Recording: everything that writes a video file (and the other files ``process`` writes).

- ``recorder``: ``Mp4Recorder``, the live recording of what the call sees (a ``FrameSink``);
- ``sound_track``: the microphone's sound on the recording's clock;
- ``video_file``: ``EncodedVideoFile``, the video ``faceblur-cam process`` writes;
- ``offline``: the other outputs of ``process`` (a folder of PNGs, the boxes log);
- ``encoders``: which ffmpeg, and which codec it can write;
- ``files``: where recordings go, their names, and the tidying of a file ffmpeg left unfinished.

Every ffmpeg fed frames runs in a ``ffmpeg_child.FfmpegChild``, the one owner of that process.
Submodules are imported where they are needed (this package imports nothing: ``doctor`` and the
tray must not pull in OpenCV or the microphone to ask a question).
"""
