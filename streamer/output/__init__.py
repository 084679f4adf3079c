"""Output: the encoder (H.264 + AAC) and the sinks that carry its packets (RTMP, file)."""
