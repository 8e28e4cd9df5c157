"""Output: reading and checking audio files (``reading``, ``containers``),
encoding and tagging (``encode``), writing one span (``export``), and the one
save loop shared by a recording and ``loopcap trim`` (``save``)."""
