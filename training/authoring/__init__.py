"""Authoring: questions, course settings, question bank import and export, item statistics (one sub-package each)."""
