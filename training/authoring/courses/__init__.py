"""Courses in the browser: creating them, their settings and publishing, and their modules."""
