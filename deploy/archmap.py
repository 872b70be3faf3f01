#!/usr/bin/env python3
"""The file map of docs/ARCHITECTURE.md, made from the files themselves.

Every source file opens with a comment saying what it is for
(CONVENTIONS.md); the map is the first sentence of each, one line per
file, grouped by folder, written between the markers
<!-- filemap:begin --> and <!-- filemap:end -->. So the map cannot drift
from the code: `archmap.py --write` rewrites it, `archmap.py --check`
(run by deploy/run-tests.sh) fails when a file is missing from the map or
listed without being there, or opens with no comment at all.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, 'docs', 'ARCHITECTURE.md')
BEGIN, END = '<!-- filemap:begin -->', '<!-- filemap:end -->'
FOLDERS = ('common/', 'branchd/', 'hqd/', 'tools/', 'proto/')
SUFFIXES = ('.c', '.h', '.js', '.proto')
LONGEST = 200


def opening_comment(text):
    """The opening comment's words, or None when the file has none."""
    m = re.match(r'\s*/\*(.*?)\*/', text, re.S)
    if m:
        body = re.sub(r'\n\s*\*(?!/) ?', ' ', m.group(1))
    else:
        lines = []
        for line in text.lstrip().splitlines():
            if not line.startswith('//'):
                break
            lines.append(line[2:])
        if not lines:
            return None
        body = ' '.join(lines)
    return re.sub(r'\s+', ' ', body).strip()


def first_sentence(words):
    # A sentence ends at '.', '!' or '?' followed by a space or the end, and
    # not inside parentheses ("(see x.h)" or "e.g." stay).
    depth = 0
    for i, c in enumerate(words):
        if c == '(':
            depth += 1
        elif c == ')':
            depth = max(0, depth - 1)
        elif c in '.!?' and depth == 0 and (i + 1 == len(words) or words[i + 1] == ' '):
            if words[max(0, i - 3):i + 1].lower() in ('e.g.', 'i.e.'):
                continue
            words = words[:i + 1]
            break
    if len(words) > LONGEST:
        cut = max(words.rfind(';', 0, LONGEST), words.rfind(',', 0, LONGEST),
                  words.rfind(':', 0, LONGEST))
        words = words[:cut if cut > 40 else LONGEST].rstrip() + ' …'
    return words.replace('|', '\\|')


def tracked_sources():
    out = subprocess.check_output(['git', '-C', ROOT, 'ls-files', '--cached', '--others',
                                   '--exclude-standard'], text=True)
    files = [f for f in out.split()
             if f.startswith(FOLDERS) and f.endswith(SUFFIXES)
             and os.path.exists(os.path.join(ROOT, f))]
    return sorted(files, key=lambda f: (os.path.dirname(f), os.path.basename(f)))


def build_map():
    lines, missing = [], []
    folder = None
    for f in tracked_sources():
        with open(os.path.join(ROOT, f), encoding='utf-8') as fh:
            words = opening_comment(fh.read(20000))
        if not words:
            missing.append(f)
            continue
        d = os.path.dirname(f) + '/'
        if d != folder:
            lines.append('')
            lines.append(f'**`{d}`**')
            lines.append('')
            folder = d
        lines.append(f'- `{os.path.basename(f)}`: {first_sentence(words)}')
    return '\n'.join(lines).strip('\n'), missing


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else '--check'
    if mode not in ('--check', '--write'):
        sys.exit('usage: archmap.py --check | --write')
    text = open(DOC, encoding='utf-8').read()
    if BEGIN not in text or END not in text:
        sys.exit(f'archmap: {DOC} has no {BEGIN} ... {END} section')
    new_map, missing = build_map()
    if missing:
        sys.exit('archmap: these files open with no comment saying what they are for: ' +
                 ', '.join(missing))
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    updated = f'{head}{BEGIN}\n{new_map}\n{END}{tail}'
    if mode == '--write':
        if updated != text:
            open(DOC, 'w', encoding='utf-8').write(updated)
        return
    if updated != text:
        sys.exit('archmap: docs/ARCHITECTURE.md\'s file map is not the files\' own '
                 'opening comments any more: run deploy/archmap.py --write and commit it')
    print('archmap: docs/ARCHITECTURE.md\'s file map is current')


if __name__ == '__main__':
    main()
