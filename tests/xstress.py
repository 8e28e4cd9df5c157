"""Stress one python-xlib connection from three threads, the way pystray does.

Run as a script: ``python xstress.py ROUND_TRIPS [--unfixed]`` with DISPLAY set.

* the event loop (like pystray's main thread) reads events and makes a
  request/reply call (``get_geometry``) for each, as pystray's redraw does;
* a "setter" thread (like ``icon.visible = True`` or a new icon) sends a
  message to the window, flushes, and waits until the loop has handled it;
* a second client keeps sending other events to the window (like a tray's
  Expose and ConfigureNotify traffic).

Prints ``ok N`` and exits 0 when all round trips are done; prints ``stalled
after N`` and exits 1 if the loop makes no progress for 3 s.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from pathlib import Path


def main() -> int:
    round_trips = int(sys.argv[1])
    import Xlib.threaded  # noqa: F401 - real locks, as loopcap and pystray use

    if "--unfixed" not in sys.argv:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from loopcap.app.x11 import fix_send_and_recv

        assert fix_send_and_recv()
    from Xlib import X, display
    from Xlib.protocol import event

    d = display.Display()
    screen = d.screen()
    win = screen.root.create_window(
        0, 0, 24, 24, 0, screen.root_depth, event_mask=X.StructureNotifyMask
    )
    atom = d.intern_atom("LOOPCAP_STRESS")
    d.flush()
    done = threading.Event()
    handled = queue.Queue()
    count = [0]

    def loop() -> None:
        while not done.is_set():
            e = d.next_event()
            if e.type != X.ClientMessage:
                continue
            win.get_geometry()
            if e.data[1][1] == 0:  # the setter's, not the noise
                count[0] += 1
                handled.put(True)

    def setter() -> None:
        for i in range(round_trips):
            msg = event.ClientMessage(window=win, client_type=atom, data=(32, [i, 0, 0, 0, 0]))
            win.send_event(msg, event_mask=0)
            d.flush()
            handled.get()
        done.set()

    def noise() -> None:
        other = display.Display()
        target = other.create_resource_object("window", win.id)
        while not done.is_set():
            msg = event.ClientMessage(window=target, client_type=atom, data=(32, [0, 1, 0, 0, 0]))
            target.send_event(msg, event_mask=0)
            other.flush()
            time.sleep(0.0002)

    for fn in (noise, loop, setter):
        threading.Thread(target=fn, daemon=True).start()
    last = -1
    while not done.is_set():
        done.wait(3.0)
        if not done.is_set() and count[0] == last:
            print(f"stalled after {count[0]}", flush=True)
            return 1
        last = count[0]
    print(f"ok {count[0]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
