"""The ASGI hello app that `make matrix` runs under uvicorn and Hypercorn:
200 and a short text on /hello, 404 elsewhere. HEAD, bodies, framing and
everything else are left to the server."""


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    status, body = (200, b"hello\n") if scope["path"] == "/hello" else (404, b"not found\n")
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
