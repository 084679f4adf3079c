"""The scene around the avatar: spec.py (what a room's scene is), text.py (text drawn once per
change with a CJK font), layers.py (the layers and how they are blended onto I420 frames),
preview.py (a still of the scene), music.py and mixer.py (music under the voice, loudness)."""
