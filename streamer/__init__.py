"""The live pipeline: director, voice, lipsync, compositor and output, joined by small queues."""
