"""Questions in the browser: the bank, new versions, publishing and retiring, word diffs, trying a version."""
