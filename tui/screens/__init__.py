"""Screens: one controller per screen of the app; they start engine work in thread
workers and hand what comes back to the widgets."""
