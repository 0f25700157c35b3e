"""What the flow left at rest: cookies, localStorage, sessionStorage and IndexedDB."""

from __future__ import annotations

from typing import Any

from ..evidence import StorageRecord
from . import Recorder

# Bounded: a page cannot make the audit hang or eat memory by storing a lot.
WEB_STORAGE_JS = r"""
async () => {
  const out = [];
  const take = (kind, store) => {
    try { for (let i = 0; i < Math.min(store.length, 500); i++) {
      const k = store.key(i); out.push([kind, k, String(store.getItem(k)).slice(0, 65536)]); } } catch (e) {}
  };
  try { take('localStorage', window.localStorage); } catch (e) {}
  try { take('sessionStorage', window.sessionStorage); } catch (e) {}
  try {
    const dbs = indexedDB.databases ? await indexedDB.databases() : [];
    for (const info of dbs.slice(0, 20)) {
      const db = await new Promise((ok, no) => { const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
      for (const name of Array.from(db.objectStoreNames).slice(0, 20)) {
        const rows = await new Promise((ok) => { try {
          const r = db.transaction(name, 'readonly').objectStore(name).getAll(null, 200);
          r.onsuccess = () => ok(r.result); r.onerror = () => ok([]); } catch (e) { ok([]); } });
        rows.forEach((row, i) => { let text; try { text = JSON.stringify(row); } catch (e) { text = String(row); }
          out.push(['indexedDB', info.name + '/' + name + '/' + i, String(text).slice(0, 65536)]); });
      }
      db.close();
    }
  } catch (e) {}
  return {origin: location.origin, items: out};
}
"""


class StorageRecorder(Recorder):
    name = "storage"
    per_step = False  # card data at rest is judged after the flow: one look at the end suffices

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._items: dict[tuple[str, str, str, str], StorageRecord] = {}
        self._context: Any = None

    def attach_context(self, context: Any) -> None:
        self._context = context

    def snapshot(self, pages: list[Any]) -> None:
        for cookie in self._context.cookies():
            self._keep(StorageRecord(origin=cookie.get("domain", ""), kind="cookie",
                                     key=cookie.get("name", ""), value=cookie.get("value", "")))
        for index, frame in self.session.live_frames(pages):
            if not frame.url.startswith(("http:", "https:")):
                continue
            try:
                found = frame.evaluate(WEB_STORAGE_JS)
            except Exception:
                continue
            for kind, key, value in found["items"]:
                self._keep(StorageRecord(origin=found["origin"], kind=kind, key=key, value=value,
                                         page=index))

    def _keep(self, record: StorageRecord) -> None:
        self._items.setdefault((record.origin, record.kind, record.key, record.value), record)

    def export(self) -> dict[str, Any]:
        return {"storage": tuple(self._items.values())}
