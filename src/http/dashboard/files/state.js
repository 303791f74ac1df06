// The page's copy of the daemon's state: every target in the shape of
// `GET /api/targets/{id}`, the last event seq applied, and the derived counts.

export const HAPROXY = 'haproxy_backend';
export const EUREKA = 'eureka_server';

/** The key of a fetch failure: a target, or one Eureka application of it. */
export const failureKey = (id, app) => (app ? `${id}\u0000${app}` : id);

/** `[targetId, app]` of a failure key. */
export function splitKey(key) {
  const i = key.indexOf('\u0000');
  return i < 0 ? [key, null] : [key.slice(0, i), key.slice(i + 1)];
}

/** The keys of every fetch failure a target shows. */
export function failuresOf(t) {
  if (t.last_fetch_status === 'failed') return [failureKey(t.id)];
  const apps = t.applications || [];
  return apps.filter((a) => a.last_fetch_status === 'failed').map((a) => failureKey(t.id, a.name));
}

/** Whether a target needs attention (for the "problems only" filter). */
export function hasProblem(t) {
  if (t.last_fetch_status === 'failed' || t.circuit_state !== 'closed' || !t.enable_polling) return true;
  const down = (x) => x.state !== 'up' && !x.removed_at;
  if (t.kind === HAPROXY) return (t.servers || []).some(down);
  return failuresOf(t).length > 0 || (t.instances || []).some(down);
}

function emptyCounts() {
  return {
    targets: { total: 0, success: 0, failed: 0, unknown: 0 },
    circuits: { open: 0, half_open: 0 },
    servers: { total: 0, up: 0, down: 0, maint: 0, drain: 0, unknown: 0 },
    instances: { total: 0, up: 0, down: 0, starting: 0, out_of_service: 0, unknown: 0 },
    disabled: 0,
  };
}

function bump(map, key) {
  map.total += 1;
  map[key in map ? key : 'unknown'] += 1;
}

/**
 * A failed target's error is now `error`. As on the server, the applications that
 * failed with the server's error carry the new one (their own failures keep theirs).
 */
function reword(t, error) {
  const old = t.last_fetch_error;
  t.last_fetch_error = error;
  for (const a of t.applications || []) {
    if (a.last_fetch_status === 'failed' && a.last_fetch_error === old) a.last_fetch_error = error;
  }
  for (const i of t.instances || []) {
    const app = i.eureka_application;
    if (app && app.last_fetch_status === 'failed' && app.last_fetch_error === old) app.last_fetch_error = error;
  }
}

export class Model {
  constructor() {
    /** @type {Map<string, object>} */
    this.targets = new Map();
    this.seq = 0;
    this.hasSnapshot = false;
    this.lastEventAt = null;
  }

  /** Replaces everything with a snapshot; answers the ids that changed. */
  loadSnapshot(msg) {
    const changed = new Set(this.targets.keys());
    this.targets.clear();
    for (const t of msg.targets || []) {
      this.targets.set(t.id, t);
      changed.add(t.id);
    }
    this.seq = msg.seq || 0;
    this.hasSnapshot = true;
    return changed;
  }

  /** Takes a fresh `GET /api/targets/{id}`; `null` removes the target. */
  replace(id, detail) {
    if (detail) this.targets.set(id, detail);
    else this.targets.delete(id);
  }

  /**
   * Takes the fields of `GET /api/targets` that change without an event: the time of
   * the last attempt, the failure count, and the error of a failure that goes on
   * (every failed poll words its own error; only the first one is an event).
   */
  mergeTimes(list) {
    const changed = [];
    for (const fresh of list) {
      const t = this.targets.get(fresh.id);
      if (!t || !fresh.last_fetch_at || fresh.last_fetch_at <= (t.last_fetch_at || '')) continue;
      t.last_fetch_at = fresh.last_fetch_at;
      if (typeof fresh.consecutive_failures === 'number') t.consecutive_failures = fresh.consecutive_failures;
      if (t.last_fetch_status === 'failed' && fresh.last_fetch_status === 'failed') {
        reword(t, fresh.last_fetch_error);
      }
      changed.push(t.id);
    }
    return changed;
  }

  /** Every current failure key. */
  failureKeys() {
    const keys = new Set();
    for (const t of this.targets.values()) for (const k of failuresOf(t)) keys.add(k);
    return keys;
  }

  /** Totals for the summary bar. */
  counts() {
    const c = emptyCounts();
    for (const t of this.targets.values()) {
      bump(c.targets, t.last_fetch_status);
      if (t.circuit_state === 'open' || t.circuit_state === 'half_open') c.circuits[t.circuit_state] += 1;
      if (!t.enable_polling) c.disabled += 1;
      for (const s of t.servers || []) bump(c.servers, s.state);
      for (const i of t.instances || []) if (!i.removed_at) bump(c.instances, i.state);
    }
    return c;
  }

  /** A short label of a target or application for messages. */
  label(key) {
    const [id, app] = splitKey(key);
    const t = this.targets.get(id);
    if (app) return `${app} (eureka ${t ? t.group : id})`;
    if (t && t.kind === HAPROXY) return `${t.group} / ${t.backend_name}`;
    return id;
  }

  /** The error text of a failure key. */
  errorOf(key) {
    const [id, app] = splitKey(key);
    const t = this.targets.get(id);
    if (!t) return '';
    if (!app) return t.last_fetch_error || '';
    const a = (t.applications || []).find((x) => x.name === app);
    return (a && a.last_fetch_error) || t.last_fetch_error || '';
  }
}
