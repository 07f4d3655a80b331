"""A readable name for the device behind a session ("Chrome on Android"), from its User-Agent.

Only the common browsers and systems are named: the summary helps people recognise their own
sessions, it is not evidence of anything (a User-Agent is whatever the client sends).
"""

# Checked in order: many browsers also claim to be the ones after them (Edge says "Chrome" and
# "Safari", Chrome says "Safari").
_BROWSERS = (
    (("Edg/", "EdgA/", "EdgiOS/"), "Edge"),
    (("OPR/", "Opera"), "Opera"),
    (("SamsungBrowser/",), "Samsung Internet"),
    (("Firefox/", "FxiOS/"), "Firefox"),
    (("CriOS/", "Chrome/", "Chromium/"), "Chrome"),
    (("Trident/", "MSIE "), "Internet Explorer"),
    (("Safari/",), "Safari"),
)

# iPhones say "like Mac OS X" and Android says "Linux": the specific names come first.
_SYSTEMS = (
    (("iPhone",), "iPhone"),
    (("iPad",), "iPad"),
    (("iPod",), "iPod"),
    (("Android",), "Android"),
    (("Windows",), "Windows"),
    (("CrOS",), "ChromeOS"),
    (("Macintosh", "Mac OS X"), "macOS"),
    (("Linux",), "Linux"),
)


def _first(user_agent: str, table: tuple[tuple[tuple[str, ...], str], ...]) -> str:
    for markers, name in table:
        if any(marker in user_agent for marker in markers):
            return name
    return ""


def device_summary(user_agent: str) -> str:
    """ "Browser on system", or as much of it as the User-Agent tells; "Unknown device" otherwise."""
    user_agent = user_agent or ""
    browser, system = _first(user_agent, _BROWSERS), _first(user_agent, _SYSTEMS)
    if browser and system:
        return f"{browser} on {system}"
    if system:
        return f"A browser on {system}"
    return browser or "Unknown device"
