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
# Rotate workers now and then so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
