// Zhucun service worker. Served by /sw.js, which prepends VERSION, PRECACHE (versioned shell URLs) and
// PAGES (navigations kept for offline use). One cache per version; the old one is removed on activate.
// A new version waits until the page asks for it (the user tapped "update"), so open pages are never
// left without their assets. /api/ is never touched: the page's own sync code talks to the network.
// Nothing personal is kept: pages are cached only when the server marks them as the same for everyone
// (`Zhucun-Shell: neutral`); who is logged in lives in the page's IndexedDB.
const CACHE = `zhucun-${VERSION}`;
const NAV_TIMEOUT = 3000;
const OFFLINE = '/offline';
const VIEWS = '/field/views'; // the other views' markup, versioned like an asset (`?v=`, and its language)

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(PRECACHE);
    // The shell pages are fetched without cookies: the copy kept is the one anybody gets.
    await cache.put(OFFLINE, await fetch(OFFLINE, { credentials: 'omit' }));
    await Promise.all(PAGES.map(async (path) => {
      try {
        const res = await fetch(path, { credentials: 'omit' });
        if (neutral(res)) await cache.put(path, res);
      } catch (e) { /* the page is cached on its next visit */ }
    }));
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('zhucun-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim(); // the very first install controls the page that registered it
  })());
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skipWaiting') self.skipWaiting();
});

// Background Sync: the outbox and the token live in the page's IndexedDB and one sync implementation
// runs in the page, so the worker only wakes open pages. With no page open it does nothing; the page
// syncs on its next load.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'zhucun-sync') return;
  event.waitUntil(self.clients.matchAll({ type: 'window' }).then((clients) => {
    for (const client of clients) client.postMessage({ type: 'sync' });
  }));
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  if (req.mode === 'navigate') event.respondWith(navigate(req, url));
  else if (url.pathname.startsWith('/static/') || url.pathname.startsWith('/js/') || url.pathname === VIEWS) {
    event.respondWith(asset(req));
  }
});

function cacheable(res) {
  return res && res.status === 200 && res.type === 'basic' && !res.redirected;
}

const neutral = (res) => cacheable(res) && res.headers.get('Zhucun-Shell') === 'neutral';

// Network first with a short timeout; the cached page (or the offline page) when the network fails,
// is too slow, or the server errs. A shell page fetched on the way refreshes the kept copy.
async function navigate(req, url) {
  const cache = await caches.open(CACHE);
  const keep = PAGES.includes(url.pathname);
  const network = fetch(req).then((res) => {
    if (keep && neutral(res)) cache.put(url.pathname, res.clone());
    return res;
  });
  network.catch(() => {});
  const hit = async () => (keep && await cache.match(url.pathname)) || null;
  try {
    const res = await Promise.race([network, new Promise((_, fail) => setTimeout(fail, NAV_TIMEOUT, 'timeout'))]);
    return (res.status >= 500 && await hit()) || res;
  } catch (e) {
    const cached = await hit();
    if (cached) return cached;
    try { return await network; } catch (e2) { return (await cache.match(OFFLINE)) || Response.error(); }
  }
}

// Versioned assets: cache first, else the network, keeping 200 same-origin `?v=` answers. Any of our
// caches will do, since a versioned URL names one content: a page fetched while a newer worker waits
// finds its assets in the newer cache.
async function asset(req) {
  const hit = await caches.match(req);
  if (hit) return hit;
  const cache = await caches.open(CACHE);
  const res = await fetch(req);
  if (cacheable(res) && new URL(req.url).searchParams.has('v')) cache.put(req, res.clone());
  return res;
}
