// Calls to the daemon's HTTP API (same origin). Target ids contain '/', so they
// are always percent-encoded in paths.

/** An answer that was not 2xx, with the daemon's `{"error":{code,message}}`. */
export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  describe() {
    return this.status ? `${this.status} ${this.code}: ${this.message}` : this.message;
  }
}

async function answer(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (response.ok) return body;
  const error = body && body.error ? body.error : {};
  throw new ApiFailure(response.status, error.code || 'error', error.message || text || response.statusText);
}

async function call(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { cache: 'no-store', ...init });
  } catch (e) {
    throw new ApiFailure(0, 'network', `the daemon cannot be reached (${e.message})`);
  }
  return answer(response);
}

export const targetPath = (id) => `/api/targets/${encodeURIComponent(id)}`;

/** `GET /api/targets/{id}`; null when the target no longer exists. */
export async function target(id) {
  try {
    return await call(targetPath(id));
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 404) return null;
    throw e;
  }
}

/** `GET /api/targets`: every target without servers and instances. */
export function targets() {
  return call('/api/targets');
}

/** One page of `GET /api/events` for one target. */
export function events(targetId, since, limit) {
  const query = new URLSearchParams({ target: targetId, since: String(since), limit: String(limit) });
  return call(`/api/events?${query}`);
}

/** `POST /api/admin/targets/{id}/{action}` with the bearer token. */
export function admin(id, action, token, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return call(`/api/admin/targets/${encodeURIComponent(id)}/${action}`, {
    method: 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** `GET /api/drift` (with pending items when asked). */
export function drift(pending = false) {
  return call(`/api/drift${pending ? '?pending=true' : ''}`);
}

/** `GET /api/history` of one target over the last 24 h. */
export function history(targetId) {
  return call(`/api/history?${new URLSearchParams({ target: targetId })}`);
}

/** `GET /api/notifiers`. */
export function notifiers() {
  return call('/api/notifiers');
}

/** `POST /api/admin/notifiers/{name}/test` with the bearer token. */
export function notifierTest(name, token) {
  return call(`/api/admin/notifiers/${encodeURIComponent(name)}/test`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
  });
}

/** `GET /api/alerts?state=...`. */
export function alerts(states) {
  return call(`/api/alerts?state=${encodeURIComponent(states)}`);
}

/** `GET /api/silences`. */
export function silences() {
  return call('/api/silences');
}

/** `POST /api/admin/silences` with the bearer token. */
export function createSilence(token, body) {
  return call('/api/admin/silences', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** `DELETE /api/admin/silences/{id}` with the bearer token. */
export function endSilence(token, id) {
  return call(`/api/admin/silences/${encodeURIComponent(id)}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${token}` },
  });
}
