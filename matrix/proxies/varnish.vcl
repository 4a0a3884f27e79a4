# Varnish as a reverse proxy for the chain matrix (matrix/proxies.py), in front
# of the origin on 127.0.0.1:@ORIGIN@ (varnishd -a 127.0.0.1:PORT is on its
# command line). @ORIGIN@ is filled in by matrix/proxies.py. Only the backend is
# set: the built-in VCL decides the rest, and it does not store a response whose
# Cache-Control says no-store (the origins of the chain matrix send it), so every
# request reaches the origin.
vcl 4.1;

backend origin {
    .host = "127.0.0.1";
    .port = "@ORIGIN@";
}
