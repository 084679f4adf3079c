"""The stages of one live, one a file, and the plumbing between them.

    Director -> speaker.py (TTS) -> clock.py -> lipsync.py -> compositor.py -> encoder.py -> output.py
                                                                                   |
                                                                               on_air.py

pipe.py (bounded queues, END, Stopped), stage.py (the Stage thread, its StageSetup and the
interrupt hook) and generation.py (the interrupt counter) are the plumbing. streamer.live wires
the stages into a Live; streamer.build makes a Live from a LiveSpec.
"""
