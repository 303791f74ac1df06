// Times and numbers as people read them, and relative times that keep ticking.

import { setText } from './dom.js';

/** Milliseconds since the epoch of an RFC 3339 time, or null. */
export function parseTs(ts) {
  if (!ts) return null;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? null : ms;
}

/** "12 s", "5 min", "3 h 10 min", "2 d". */
export function duration(ms) {
  const sec = Math.max(0, Math.round(ms / 1000));
  if (sec < 60) return `${sec} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min`;
  const hours = Math.floor(min / 60);
  if (hours < 24) return min % 60 ? `${hours} h ${min % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}

/** "just now", "12 s ago", "5 min ago"; "never" without a time. */
export function ago(ts, now = Date.now()) {
  const ms = parseTs(ts);
  if (ms === null) return 'never';
  const diff = now - ms;
  if (diff < 2000) return 'just now';
  return `${duration(diff)} ago`;
}

/** "in 12 s", "now"; "" without a time. */
export function until(ts, now = Date.now()) {
  const ms = parseTs(ts);
  if (ms === null) return '';
  const diff = ms - now;
  return diff <= 1000 ? 'now' : `in ${duration(diff)}`;
}

/** Local wall-clock time "14:50:37". */
export function clock(ts) {
  const ms = typeof ts === 'number' ? ts : parseTs(ts);
  if (ms === null) return '';
  const d = new Date(ms);
  const time = d.toLocaleTimeString([], { hour12: false });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

/** Local date and time, for tooltips. */
export function stamp(ts) {
  const ms = typeof ts === 'number' ? ts : parseTs(ts);
  if (ms === null) return '';
  return new Date(ms).toLocaleString([], { hour12: false });
}

/** "1,234". */
export function count(n) {
  return Number(n).toLocaleString('en-US');
}

// Elements showing a time relative to now, refreshed by `tick`.
const ticking = new Map();

/**
 * Shows `format(ts)` in `el` (with `prefix`) and keeps it current every few
 * seconds; the exact time goes into the element's `title`.
 */
export function liveTime(el, ts, format = ago, prefix = '') {
  const render = () => setText(el, `${prefix}${format(ts)}`);
  render();
  if (ts) el.title = stamp(ts);
  else el.removeAttribute('title');
  ticking.set(el, render);
}

/** Re-renders every live time still in the page; forgets those that left it. */
export function tick() {
  for (const [el, render] of ticking) {
    if (el.isConnected) render();
    else ticking.delete(el);
  }
}

/** How many relative times are kept current (for diagnostics). */
export function tickingCount() {
  return ticking.size;
}
