"""The writer: the crash-safe partial file on the wall-clock timeline, the rescue
folder when the output folder fails, and recovery after a crash."""
