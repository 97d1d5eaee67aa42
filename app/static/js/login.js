// Logging in gets two things: a device token for sync (kept in IndexedDB as this phone's session) and
// the server's session cookie for the pages (the form is then submitted as usual).
import { setSession } from './db.js';

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');
const offline = document.getElementById('login-offline-hint');

function deviceName() {
  const ua = navigator.userAgent;
  const system = (ua.match(/\(([^)]*)\)/) || [, ''])[1].split(';').map((s) => s.trim())
    .filter((s) => s && !/^(Linux|U|K|wv|X11|Mobile)$/.test(s)).slice(0, 2).join(' ');
  const browser = (ua.match(/(MicroMessenger|EdgA?|Firefox|SamsungBrowser|UCBrowser|HuaweiBrowser|Chrome|Safari)\/[\d]+/) || [''])[0];
  return `${system} ${browser}`.trim().slice(0, 80) || 'phone';
}

let busy = false;

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (busy) return;
  error.hidden = true;
  offline.hidden = true;
  const username = form.elements.username.value;
  const password = form.elements.password.value;
  if (!username || !password) return form.submit(); // the server's form explains what is missing
  if (!navigator.onLine) {
    offline.hidden = false;
    return;
  }
  busy = true;
  let response;
  try {
    response = await fetch('/api/auth/token', {
      method: 'POST',
      credentials: 'omit',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password, device_name: deviceName() }),
    });
  } catch (e) {
    busy = false;
    offline.hidden = false;
    return;
  }
  if (response.status === 201) {
    try {
      const body = await response.json();
      form.elements.device.value = body.device; // the page session ends when this device is revoked
      await setSession({ token: body.token, device: body.device, user: body.user, at: new Date().toISOString() });
    } catch (e) { /* no IndexedDB here: the pages still work online */ }
    form.submit();
    return;
  }
  busy = false;
  if (response.status === 401) {
    const body = await response.json().catch(() => ({}));
    error.textContent = error.dataset.badCredentials || (body.error && body.error.message) || '';
    error.hidden = false;
    return;
  }
  form.submit(); // anything else: let the server's own login answer
});
