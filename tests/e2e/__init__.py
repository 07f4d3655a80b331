"""End-to-end tests: the app behind a real HTTP server, driven by Chromium through Playwright."""
