"""Records of what each learner has finished (module progress, completions); no services of its own."""
