#!/usr/bin/env python3
"""The dashboard's message catalogues, checked without a browser: every
catalogue in hqd/dashboard/i18n/ is one "key": "text" pair a line between
`export default {` and `};` (comments and blank lines aside), and each
language of a pair (the page's zh-CN.js and en.js, the editors'
editors.zh-CN.js and editors.en.js) has the same keys, each with the same
{placeholders}, and no empty text. A text may be plural, one form per
plural category of its language ({"one": "{n} hall", "other": "{n} halls"}
in English, where i18n.js picks the form by the count {n}): it must hold
every category of the language and no other, each form with the same
placeholders (a label beside a figure, "hall" / "halls", writes no {n}). Prints every problem; exit status 1 if
there is one. Run by tests/unit/test_i18n_catalogues.c."""
import json
import os
import re
import sys

LANGS = ("zh-CN", "en")
ENTRY = re.compile(r'^\s*("(?:[^"\\]|\\.)*")\s*:\s*("(?:[^"\\]|\\.)*"|\{.*\})\s*,?\s*$')
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Each language's plural categories, as Intl.PluralRules gives them.
PLURAL = {"zh-CN": ("other",), "en": ("one", "other")}


def forms(path, n, key, text, lang, problems):
    """The forms of one text: [text], or a plural text's forms checked
    against the language's categories (None when it is not one)."""
    if isinstance(text, str):
        return [text]
    if not isinstance(text, dict) or not all(isinstance(v, str) for v in text.values()):
        problems.append(f"{path}:{n}: key {key} is neither a text nor plural forms of texts")
        return None
    want = PLURAL[lang]
    for c in want:
        if c not in text:
            problems.append(f"{path}:{n}: key {key} lacks its plural form {c}")
    for c in text:
        if c not in want:
            problems.append(f"{path}:{n}: key {key} has a plural form {c} that {lang} has not")
    if len({frozenset(PLACEHOLDER.findall(v)) for v in text.values()}) > 1:
        problems.append(f"{path}:{n}: key {key}: its plural forms' placeholders differ")
    return list(text.values())


def load(path, lang, problems):
    """The catalogue's {key: [text or its plural forms]}, or None when the
    file is not there."""
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
        try:
            key, text = json.loads(m.group(1)), json.loads(m.group(2))
        except ValueError:
            problems.append(f"{path}:{n}: not a \"key\": \"text\" line: {s[:80]}")
            continue
        texts = forms(path, n, key, text, lang, problems)
        if texts is None:
            continue
        if key in out:
            problems.append(f"{path}:{n}: key {key} twice")
        if any(not x.strip() for x in texts):
            problems.append(f"{path}:{n}: key {key} has an empty text")
        out[key] = texts
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
        cats = {lang: load(os.path.join(folder, part + lang + ".js"), lang, problems) for lang in LANGS}
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
            a, b = (set(PLACEHOLDER.findall(c[k][0])) for c in (zh, en))
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
