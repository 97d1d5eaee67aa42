# Serving Zhucun in production: `gunicorn` (from the project's folder) reads this file.
# Behind a reverse proxy that terminates HTTPS (see docs/deployment.md); the app itself trusts the proxy's
# X-Forwarded-* headers only when ZHUCUN_PROXY_HOPS is set.
import multiprocessing
import os

wsgi_app = "app:create_app()"
bind = os.environ.get("ZHUCUN_BIND", "127.0.0.1:8000")
# Sync work is short database transactions; two workers per core keep one busy while another waits on I/O.
workers = int(os.environ.get("ZHUCUN_WORKERS", multiprocessing.cpu_count() * 2))
threads = 2
# A village phone on 2G may take long to send a week of entries; the proxy buffers bodies, so this bounds
# only the app's own work on a request.
timeout = 60
graceful_timeout = 30
# The proxy keeps its connections to gunicorn open between requests. Gunicorn must not close an idle one
# first (the default is 2 s), or a request the proxy sends on it at that moment fails as a 502: the proxy
# examples in deploy/ let idle connections go after 60 s, before this.
keepalive = 75
# Rotate workers now and then so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# The client as the proxy saw it, the request, status, bytes, milliseconds and the worker's pid (which worker
# served it, when one is stuck or killed for a timeout). No user agent or referrer: nothing the logs need.
access_log_format = '%({x-forwarded-for}i)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms %(p)s'
