"""The guided setup: a sequence of step screens with Back and Next, sharing one draft,
validated before moving on and saved at the end (``engine.settings``)."""
