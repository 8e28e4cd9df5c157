"""Capture: the real-time thread that reads the device, and the tap that keeps
it running between recordings with a pre-roll (and the armed watcher on it)."""
