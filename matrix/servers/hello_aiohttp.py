"""The aiohttp hello app that `make matrix` runs: 200 and a short text on
/hello (GET, and HEAD as aiohttp adds it), 404 elsewhere, from aiohttp's own
router. Usage: hello_aiohttp.py PORT (binds 127.0.0.1)."""

import sys

from aiohttp import web


async def hello(_request):
    return web.Response(text="hello\n")


app = web.Application()
app.router.add_get("/hello", hello)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
