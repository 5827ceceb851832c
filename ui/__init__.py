"""The app's tabs, one module each; app.py assembles them. No logic lives here, only layout and calls."""
