"""Moodle GIFT files: reading them into question specs (reader.py) and writing specs as GIFT (writer.py)."""
