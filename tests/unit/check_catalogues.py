#!/usr/bin/env python3
"""The dashboard's message catalogues, checked without a browser: every
catalogue in hqd/dashboard/i18n/ is one "key": "text" pair a line between
`export default {` and `};` (comments and blank lines aside), and each
language of a pair (the page's zh-CN.js and en.js, the editors'
editors.zh-CN.js and editors.en.js) has the same keys, each with the same
{placeholders}, and no empty text. Prints every problem; exit status 1 if
there is one. Run by tests/unit/test_i18n_catalogues.c."""
import json
import os
import re
import sys

LANGS = ("zh-CN", "en")
ENTRY = re.compile(r'^\s*("(?:[^"\\]|\\.)*")\s*:\s*("(?:[^"\\]|\\.)*")\s*,?\s*$')
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load(path, problems):
    """The catalogue's {key: text}, or None when the file is not there."""
    if not os.path.exists(path):
        return None
    out = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    inside = False
    for n, line in enumerate(lines, 1):
        s = line.strip()
        if not inside:
            if s == "export default {":
                inside = True
            continue
        if s == "};":
            inside = None
            break
        if not s or s.startswith("//"):
            continue
        m = ENTRY.match(line)
        if not m:
            problems.append(f"{path}:{n}: not a \"key\": \"text\" line: {s[:80]}")
            continue
        key, text = json.loads(m.group(1)), json.loads(m.group(2))
        if key in out:
            problems.append(f"{path}:{n}: key {key} twice")
        if not text.strip():
            problems.append(f"{path}:{n}: key {key} has an empty text")
        out[key] = text
    if inside is not None:
        problems.append(f"{path}: no `export default {{` ... `}};` object")
    return out


def main(folder):
    problems = []
    names = sorted(os.listdir(folder))
    parts = set()
    for name in names:
        for lang in LANGS:
            if name.endswith(lang + ".js"):
                parts.add(name[: -len(lang + ".js")])
    if "" not in parts:
        problems.append(f"{folder}: no zh-CN.js / en.js")
    for part in sorted(parts):
        cats = {lang: load(os.path.join(folder, part + lang + ".js"), problems) for lang in LANGS}
        for lang, cat in cats.items():
            if cat is None:
                problems.append(f"{folder}/{part}{lang}.js: missing (its pair exists)")
        if any(c is None for c in cats.values()):
            continue
        zh, en = cats["zh-CN"], cats["en"]
        for k in sorted(set(zh) - set(en)):
            problems.append(f"{part}en.js lacks {k} (in {part}zh-CN.js)")
        for k in sorted(set(en) - set(zh)):
            problems.append(f"{part}zh-CN.js lacks {k} (in {part}en.js)")
        for k in sorted(set(zh) & set(en)):
            a, b = set(PLACEHOLDER.findall(zh[k])), set(PLACEHOLDER.findall(en[k]))
            if a != b:
                problems.append(f"{part}*.js {k}: placeholders differ: zh-CN {sorted(a)}, en {sorted(b)}")
        if part:
            for k in zh:
                if not k.startswith(part):
                    problems.append(f"{part}zh-CN.js key {k} does not start with {part}")
        print(f"{part or '(page)'}: {len(zh)} keys in zh-CN, {len(en)} in en")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else
                  os.path.join(os.path.dirname(__file__), "..", "..", "hqd", "dashboard", "i18n")))
