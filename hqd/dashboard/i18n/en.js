// The dashboard's texts in English. One "key": "text" pair a line, {name} a
// placeholder; zh-CN.js has the same keys (tests/unit/check_catalogues.py).
// Format: docs/DASHBOARD.md.
export default {
  "lang.zh-CN": "中文",
  "lang.en": "English",
  "lang.switch": "Language",
  "dur.s": "{s} s",
  "dur.m": "{m} min",
  "dur.ms": "{m} min {s} s",
  "dur.h": "{h} h",
  "dur.hm": "{h} h {m} min",
  "dur.d": "{d} d",
  "dur.dh": "{d} d {h} h",
};
