"""The WSGI hello app that `make matrix` runs under gunicorn and waitress:
200 and a short text on /hello, 404 elsewhere. HEAD, bodies, framing and
everything else are left to the server."""


def app(environ, start_response):
    if environ["PATH_INFO"] == "/hello":
        status, body = "200 OK", b"hello\n"
    else:
        status, body = "404 Not Found", b"not found\n"
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
