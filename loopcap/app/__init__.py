"""The desktop app: a state machine driven by hotkeys, the tray and a socket.

Nothing in the core (device, capture, writer, trim, session) imports this
package.
"""
