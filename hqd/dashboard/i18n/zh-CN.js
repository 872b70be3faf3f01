// The dashboard's texts in Chinese (zh-CN), the default language. One
// "key": "text" pair a line, {name} a placeholder; en.js has the same keys
// (tests/unit/check_catalogues.py). Format: docs/DASHBOARD.md.
export default {
  "lang.zh-CN": "中文",
  "lang.en": "English",
  "lang.switch": "界面语言",
  "dur.s": "{s}秒",
  "dur.m": "{m}分",
  "dur.ms": "{m}分{s}秒",
  "dur.h": "{h}小时",
  "dur.hm": "{h}小时{m}分",
  "dur.d": "{d}天",
  "dur.dh": "{d}天{h}小时",
};
