"""Gunicorn settings for production serving (`make serve`); docs/operations.md explains each choice.

Every setting can be changed from the environment without editing this file. The app reads its own
settings (DATABASE_URL, REDIS_URL, SECRET_KEY, MAIL_*, *_DIR, TRUSTED_PROXY_COUNT) from the
environment too; see the README's settings table.
"""

import os
import sys

wsgi_app = "app:app"

# Listen where the reverse proxy forwards to; never on a public address without the proxy in front.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Synchronous workers: the app's requests are short database work, and one process per request
# keeps one slow PDF from stalling others. Two per core plus one is gunicorn's own advice.
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1) + 1)))
worker_class = "sync"

# A request that takes longer than this is killed and its worker restarted. With sync workers it
# covers a streamed response too. Audit packets and certificate ZIPs, which take minutes for a large
# department, are background jobs (`flask jobs work`): asking for one answers at once, so no request
# waits for them; 120 s is for the compliance CSV/XLSX exports, which stream (docs/operations.md).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))

# Restart each worker after a few thousand requests, at staggered times, so memory cannot creep.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))

# No control socket: gunicorn 27 would open one per user in $HOME, shared by every instance.
control_socket_disable = True

# Heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn heartbeat files

# Gunicorn believes no X-Forwarded-* header itself: one place decides what the proxy headers mean,
# the app's ProxyFix, set by TRUSTED_PROXY_COUNT (how many proxies stand in front of the app).
forwarded_allow_ips = ""
secure_scheme_headers = {}

# Access and error logs as JSON lines on standard output and standard error, with the request id.
# GUNICORN_ACCESS_LOG= (empty) turns the access log off, e.g. when the proxy keeps one.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logger_class = "training.serving.GunicornJsonLogger"


def on_starting(server):
    """Refuse to start, with the reasons, when the configuration or the database is not ready."""
    from training import create_app
    from training.serving import check_before_serving

    problems = check_before_serving(create_app())
    for problem in problems:
        server.log.error("cannot serve: %s", problem)
    if problems:
        sys.exit(1)


def post_worker_init(worker):
    """Warm the new worker (templates, content cache) before it takes its first request: training/serving.py."""
    from training.serving import warm_up

    warm_up(getattr(worker.wsgi, "training_app", worker.wsgi))
