// Logging in, in one request: the form is posted by fetch asking for JSON. The answer sets the page
// session's cookie and, for a new device of a field user, carries the bearer token that sync uses; the
// session pointer (token, device, user) is kept in IndexedDB. A phone logging in again as the same person
// names its device, so the session hangs on it and the phone keeps the token it has. The page also lists
// the people whose entries wait on this phone, and revokes the devices of logouts that had no signal.
import { getSession, setSession } from './db.js';
import { loggedIn, sendPendingLogoutsNowAndOnline, signOut, waitingPeople } from './signout.js';

const $ = (id) => document.getElementById(id);
const form = $('login-form');
const error = $('login-error');
const offline = $('login-offline-hint');

// The device is named from its user agent where it is shown (the township's device list), in the reader's words.
const deviceName = () => navigator.userAgent.slice(0, 200);

const stored = () => getSession().catch(() => null);

function showError(text) {
  error.textContent = text;
  error.hidden = false;
}

let busy = false;

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (busy) return;
  error.hidden = true;
  offline.hidden = true;
  if (!navigator.onLine) {
    offline.hidden = false;
    return;
  }
  busy = true;
  try {
    await logIn();
  } finally {
    busy = false;
  }
});

async function logIn() {
  const before = await stored();
  const same = before && !before.stale && before.user.username === form.elements.username.value;
  form.elements.device.value = same ? before.device : '';
  form.elements.device_name.value = deviceName();
  let response;
  try {
    response = await fetch(form.action, { // the page's own URL, with its ?next=
      method: 'POST', body: new FormData(form), headers: { Accept: 'application/json' },
      credentials: 'same-origin', cache: 'no-store',
    });
  } catch (e) {
    offline.hidden = false;
    return;
  }
  const body = await response.json().catch(() => null);
  if (response.status === 200 && body && body.next) {
    await keep(before, body);
    location.assign(body.next);
    return;
  }
  const message = body && body.error && body.error.message;
  showError(message || (response.status === 401 ? error.dataset.badCredentials : error.dataset.failed));
}

// The new session pointer. Someone else still logged in on this phone is logged out first (only their
// unsent entries stay), so their token never outlives the pointer that held it.
async function keep(before, body) {
  try {
    if (before && before.user.id !== body.user.id) await signOut(before);
    const token = body.token || (before && before.device === body.device ? before.token : null);
    if (!token) return; // a township login: its pages need no token
    await setSession({ token, device: body.device, user: body.user, at: new Date().toISOString() });
    await loggedIn(body.user);
  } catch (e) { /* no IndexedDB here: the township pages still work */ }
}

// The people with entries waiting here: a tap fills the username, the password is theirs to type.
async function listWaiting() {
  const people = await waitingPeople();
  const list = $('login-waiting-list');
  list.replaceChildren(...people.map((person) => {
    const item = $('tpl-waiting-person').content.firstElementChild.cloneNode(true);
    item.querySelector('.w-name').textContent = [person.name || person.username, person.unit].filter(Boolean).join(' · ');
    item.querySelector('.w-count').textContent = list.dataset.count.replace('{n}', String(person.count));
    item.querySelector('button').addEventListener('click', () => {
      form.elements.username.value = person.username;
      form.elements.password.focus();
    });
    return item;
  }));
  $('login-waiting').hidden = people.length === 0;
}

sendPendingLogoutsNowAndOnline();
listWaiting().catch(() => {});
