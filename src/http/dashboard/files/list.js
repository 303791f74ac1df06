// Ids kept in the order of their sort keys: inserting or removing one finds its
// place by binary search, so a large fleet stays cheap to keep in order.

export class SortedKeys {
  constructor() {
    this.order = [];
    this.keyOf = new Map();
    this.idOf = new Map();
  }

  get size() {
    return this.keyOf.size;
  }

  position(key) {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds `id` under `key` (once). */
  insert(id, key) {
    if (this.keyOf.has(id)) return;
    this.order.splice(this.position(key), 0, key);
    this.keyOf.set(id, key);
    this.idOf.set(key, id);
  }

  /** Removes `id`. */
  remove(id) {
    const key = this.keyOf.get(id);
    if (key === undefined) return;
    const at = this.position(key);
    if (this.order[at] === key) this.order.splice(at, 1);
    this.keyOf.delete(id);
    this.idOf.delete(key);
  }

  /** Every id, in key order. */
  *ids() {
    for (const key of this.order) yield this.idOf.get(key);
  }
}

/** A container of keyed elements (items with an `el`) kept in sort order. */
export class OrderedList {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    this.keys = new SortedKeys();
    this.items = new Map();
  }

  get size() {
    return this.items.size;
  }

  get(id) {
    return this.items.get(id);
  }

  values() {
    return this.items.values();
  }

  /** Inserts `item` as `id`, placed by `sortKey`. */
  insert(id, sortKey, item) {
    this.keys.insert(id, sortKey);
    this.items.set(id, item);
    const next = this.keys.order[this.keys.position(sortKey) + 1];
    const before = next === undefined ? null : this.items.get(this.keys.idOf.get(next)).el;
    this.container.insertBefore(item.el, before);
  }

  /** Removes the item of `id`; answers it (or undefined). */
  remove(id) {
    const item = this.items.get(id);
    if (!item) return undefined;
    this.keys.remove(id);
    this.items.delete(id);
    item.el.remove();
    return item;
  }

  /** Removes every item whose id is not in `keep`; answers the removed ids. */
  retain(keep) {
    const gone = [...this.items.keys()].filter((id) => !keep.has(id));
    gone.forEach((id) => this.remove(id));
    return gone;
  }
}
