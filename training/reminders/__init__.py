"""Reminder emails: staff about their own training due soon, overdue or expired; managers a department digest."""
