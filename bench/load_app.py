"""The app as `make serve` serves it, plus `GET /bench/hello`: the load test's hello-world baseline.

Only bench/load.py serves this (`gunicorn ... 'bench.load_app:create_load_app()'`), so the hello-world
route is answered by the same gunicorn, the same workers and the same settings as the learner pages,
while the production app (app.py) has no such route. The baseline is a bare WSGI answer: what any
request costs in gunicorn before the application does any work. Importing this module creates no app.
"""

HELLO_PATH = "/bench/hello"
HELLO_BODY = b"hello"
_HELLO_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(HELLO_BODY)))]


def create_load_app():
    from training import create_app

    training_app = create_app()

    def app(environ, start_response):
        if environ.get("PATH_INFO") == HELLO_PATH and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", list(_HELLO_HEADERS))
            return [HELLO_BODY]
        return training_app(environ, start_response)

    app.training_app = training_app  # what gunicorn.conf.py's post_worker_init warms up
    return app
