"""Item statistics from the record of answers: how often each question is asked, how easy it is, how it separates."""
