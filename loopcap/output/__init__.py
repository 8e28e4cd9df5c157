"""Output: reading and checking audio files, encoding and tagging, writing the
saved spans."""
