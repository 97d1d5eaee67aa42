// The service worker from the page's side: registration, the "new version" offer, Background Sync,
// and the storage the browser grants us.

// Register /sw.js. `offer(apply)` is called when a new version is waiting; `apply()` activates it and
// every open page reloads once the new worker controls it.
export async function registerWorker(offer, onSyncRequest) {
  if (!('serviceWorker' in navigator)) return null;
  const sw = navigator.serviceWorker;
  let controlled = Boolean(sw.controller);
  let reloading = false;
  sw.addEventListener('controllerchange', () => {
    if (!controlled) { controlled = true; return; } // first install: clients.claim(), nothing to reload
    if (!reloading) { reloading = true; location.reload(); }
  });
  sw.addEventListener('message', (event) => {
    if (event.data && event.data.type === 'sync') onSyncRequest();
  });
  const reg = await sw.register('/sw.js', { scope: '/', updateViaCache: 'none' });
  const ready = (worker) => {
    if (worker && sw.controller) offer(() => worker.postMessage({ type: 'skipWaiting' }));
  };
  ready(reg.waiting);
  reg.addEventListener('updatefound', () => {
    const worker = reg.installing;
    worker.addEventListener('statechange', () => { if (worker.state === 'installed') ready(worker); });
  });
  return reg;
}

// Ask the browser to wake us for a sync when the connection returns (where it has Background Sync).
export async function requestBackgroundSync() {
  try {
    const reg = await navigator.serviceWorker.ready;
    if (reg.sync) await reg.sync.register('zhucun-sync');
  } catch (error) { /* not supported or not allowed: the page syncs on load and on `online` */ }
}

// Ask once for persistent storage, then report usage and quota.
export async function storageReport() {
  if (!navigator.storage || !navigator.storage.estimate) return null;
  let persisted = navigator.storage.persisted ? await navigator.storage.persisted() : false;
  if (!persisted && navigator.storage.persist && !localStorage.getItem('zhucun-persist-asked')) {
    localStorage.setItem('zhucun-persist-asked', '1');
    persisted = await navigator.storage.persist();
  }
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  // Warned early: at half the quota, or with less than 100 MB left (photos fill a cheap phone fast).
  return { usage, quota, persisted, low: quota > 0 && (usage / quota > 0.5 || quota - usage < 100e6) };
}
