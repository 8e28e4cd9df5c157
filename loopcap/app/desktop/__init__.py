"""The desktop's own services over D-Bus: global shortcuts through the XDG
portal, a StatusNotifierItem tray with a dbusmenu menu, notifications, start
at login.  Each is a backend chosen once, in order of preference, beside the
X11/pynput/pystray fallbacks; :mod:`loopcap.app.desktop.bus` is the one
connection they share.
"""

APP_ID = "io.github.loopcap.Loopcap"
