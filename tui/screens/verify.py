"""placeholder"""
from textual.screen import Screen


class VerifyScreen(Screen):
    BINDINGS = [("escape", "app.pop_screen", "Back")]
    def __init__(self, snapshot_id=None):
        super().__init__()
