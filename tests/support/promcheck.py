#!/usr/bin/python3
"""Checks of what hallbus shows Prometheus and Grafana, for
tests/integration/test_prometheus.c. Runs on Debian's python3 with its
python3-prometheus-client and python3-yaml (deploy/install-deps.sh).

  promcheck.py exposition FILE...
      Each file is a /metrics answer. It must parse with the Prometheus
      client's own parser (prometheus_client.parser), and then: one HELP and
      one TYPE per family, before its samples; no untyped samples; no series
      twice; counters end in _total and nothing else does; histograms end in
      a unit (_seconds, _bytes); no name carries a unit other than the base
      ones (_ms, _kb, ...) or an aggregate where an aggregate goes
      (_seconds_last, _max_bytes, ...); a unit word ends
      its name; *_info gauges are 1; every histogram series has its
      buckets in increasing "le" ending in +Inf, cumulative counts that
      never decrease, +Inf equal to _count, a _sum, and the same bounds as
      the other series of its family.

  promcheck.py dashboard DASHBOARD.json EXPRS_OUT.yml SCRAPE...
      The Grafana dashboard: JSON with the structure Grafana imports (title,
      uid, schemaVersion, templating, panels with ids, grid positions inside
      24 columns, targets with refIds and expressions), every expression
      naming only metrics the scrapes hold, and the topics an operator needs
      all there. The expressions, Grafana's variables replaced, are written
      to EXPRS_OUT.yml as recording rules so that `promtool check rules`
      parses each with Prometheus's own parser.

  promcheck.py rules RULES.yml SCRAPE...
      The alert rules: every rule an alert with an expression, a `for`, a
      severity and a summary and description; the alerts issue 16 names
      there; every metric they read is in the scrapes (promtool checks the
      syntax and `promtool test rules` the behaviour).

Exit status 0 when every check holds; else 1, each problem on a line of
its own on stderr ("FILE: problem").
"""

import json
import math
import re
import sys

import yaml
from prometheus_client.parser import text_string_to_metric_families

NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE_NAME_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]")
# Units other than the base ones: refused anywhere in a name.
BAD_UNITS = {
    "ms", "msec", "millis", "milliseconds", "us", "usec", "microseconds", "ns", "nanoseconds",
    "minutes", "hours", "days", "kb", "mb", "gb", "kib", "mib", "gib", "kilobytes", "megabytes",
    "percent",
}
# Aggregates a histogram replaces: refused at the end of a name or next to
# its unit (commit_seconds_last, max_seconds), not where they are part of
# what is counted (outbox_last_seq, process_max_fds).
AGGREGATES = {"last", "max", "min", "avg", "mean", "average"}
UNITS = ("seconds", "bytes")
HIST_SUFFIXES = ("_bucket", "_sum", "_count")
# Prometheus adds these itself for every target.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def check_exposition(path, text, problems):
    """Appends to `problems` what is wrong with one /metrics answer."""

    def bad(msg):
        problems.append("%s: %s" % (path, msg))

    types, helps, seen_samples = {}, set(), set()
    for ln, line in enumerate(text.split("\n"), 1):
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4:
                bad("line %d: a TYPE line of %d words" % (ln, len(parts)))
                continue
            name, typ = parts[2], parts[3]
            if name in types:
                bad("line %d: TYPE of %s a second time" % (ln, name))
            if name in seen_samples:
                bad("line %d: TYPE of %s after its samples" % (ln, name))
            types[name] = typ
        elif line.startswith("# HELP "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not parts[3].strip():
                bad("line %d: HELP without text" % ln)
            elif parts[2] in helps:
                bad("line %d: HELP of %s a second time" % (ln, parts[2]))
            else:
                helps.add(parts[2])
        elif line and not line.startswith("#"):
            m = SAMPLE_NAME_RE.match(line)
            if m:
                seen_samples.add(m.group(1))
                for suffix in HIST_SUFFIXES:
                    if m.group(1).endswith(suffix):
                        seen_samples.add(m.group(1)[: -len(suffix)])

    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own refusal, whatever its class
        bad("does not parse: %s: %s" % (type(e).__name__, e))
        return None

    for name, typ in types.items():
        if not NAME_RE.match(name):
            bad("%s: not a metric name" % name)
        if name not in helps:
            bad("%s: no HELP" % name)
        tokens = name.split("_")
        if typ == "counter" and not name.endswith("_total"):
            bad("%s: a counter whose name does not end in _total" % name)
        if typ != "counter" and name.endswith("_total"):
            bad("%s: a %s whose name ends in _total" % (name, typ))
        if typ == "histogram" and not name.endswith(tuple("_" + u for u in UNITS)):
            bad("%s: a histogram whose name does not end in its unit (_seconds, _bytes)" % name)
        if typ != "histogram" and name.endswith(HIST_SUFFIXES):
            bad("%s: a %s named like a histogram's series" % (name, typ))
        for i, t in enumerate(tokens):
            if t in BAD_UNITS:
                bad("%s: '%s' in a name (use base units: seconds, bytes)" % (name, t))
            near_unit = any(u in tokens[max(i - 1, 0):i + 2] for u in UNITS)
            last = i == len(tokens) - 1 or tokens[i + 1:] == ["total"]
            if t in AGGREGATES and (last or near_unit):
                bad("%s: '%s' in a name (an aggregate: export a histogram)" % (name, t))
        for unit in UNITS:
            if unit in tokens[:-1] and not (typ == "counter" and tokens[-2:] == [unit, "total"]):
                bad("%s: the unit '%s' must end the name" % (name, unit))
        if typ not in ("counter", "gauge", "histogram"):
            bad("%s: type %s (hallbus writes counters, gauges and histograms)" % (name, typ))

    n_samples = n_series = 0
    for fam in families:
        if fam.type in ("unknown", "untyped"):
            bad("%s: samples without a TYPE" % fam.name)
        keys = set()
        for s in fam.samples:
            n_samples += 1
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in keys:
                bad("%s%s: the same series twice" % (s.name, dict(s.labels)))
            keys.add(key)
            if fam.type == "counter" and not s.value >= 0:
                bad("%s: a counter at %r" % (s.name, s.value))
            if fam.name.endswith("_info") and s.value != 1:
                bad("%s: an info gauge at %r" % (s.name, s.value))
        if fam.type == "histogram":
            n_series += check_histogram(fam, bad)
    print("%s: %d families, %d samples, %d histogram series: ok" %
          (path, len(families), n_samples, n_series) if not problems else
          "%s: %d families, %d samples" % (path, len(families), n_samples))
    return families


def check_histogram(fam, bad):
    """The invariants of every series of one histogram family; how many."""
    series = {}
    for s in fam.samples:
        labels = dict(s.labels)
        le = labels.pop("le", None)
        key = tuple(sorted(labels.items()))
        rec = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if s.name == fam.name + "_bucket":
            if le is None:
                bad("%s%s: a bucket without le" % (s.name, labels))
                continue
            try:
                bound = float(le)
            except ValueError:
                bad("%s%s: le=%r is not a number" % (s.name, labels, le))
                continue
            rec["buckets"].append((bound, s.value, le))
        elif s.name == fam.name + "_sum":
            rec["sum"] = s.value
        elif s.name == fam.name + "_count":
            rec["count"] = s.value
        else:
            bad("%s: a sample %s in histogram %s" % (s.name, s.name, fam.name))
    bounds_of_family = None
    for key, rec in series.items():
        where = "%s%s" % (fam.name, dict(key))
        b = rec["buckets"]
        if not b:
            bad("%s: no buckets" % where)
            continue
        if [x[0] for x in b] != sorted(x[0] for x in b) or len({x[0] for x in b}) != len(b):
            bad("%s: buckets not in increasing le" % where)
        b = sorted(b)
        if not math.isinf(b[-1][0]) or b[-1][2] != "+Inf":
            bad("%s: the last bucket is not le=\"+Inf\"" % where)
        for (lo, vlo, _), (hi, vhi, _) in zip(b, b[1:]):
            if vhi < vlo:
                bad("%s: bucket le=%g (%g) below le=%g (%g): not cumulative" %
                    (where, hi, vhi, lo, vlo))
        if rec["count"] is None:
            bad("%s: no _count" % where)
        elif b[-1][1] != rec["count"]:
            bad("%s: +Inf bucket %g but _count %g" % (where, b[-1][1], rec["count"]))
        if rec["sum"] is None:
            bad("%s: no _sum" % where)
        elif rec["sum"] < 0 or math.isnan(rec["sum"]):
            bad("%s: _sum %r" % (where, rec["sum"]))
        bounds = [x[2] for x in b]
        if bounds_of_family is None:
            bounds_of_family = bounds
        elif bounds != bounds_of_family:
            bad("%s: other buckets than the family's other series" % where)
    return len(series)


def scrape_names(paths, problems):
    """Every sample name (x_bucket, x_total, ...) and family name the scrapes hold."""
    names = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if not text.strip():
            problems.append("%s: an empty scrape" % path)
        for line in text.split("\n"):
            m = SAMPLE_NAME_RE.match(line)
            if m and not line.startswith("#"):
                names.add(m.group(1))
            elif line.startswith("# TYPE "):
                names.add(line.split(" ")[2])
    return names


# Strings, then identifiers: a name inside quotes is a label value.
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
IDENT_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "offset", "bool", "inf", "nan", "atan2",
}


def metrics_in(expr):
    """The metric names an expression reads: identifiers outside strings,
    label matchers and ranges, that are not functions or keywords."""
    bare = STRING_RE.sub('""', expr)
    bare = re.sub(r"\{[^}]*\}", "{}", bare)  # label names inside matchers
    bare = re.sub(r"\[[^\]]*\]", "[]", bare)  # ranges and durations
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1()", bare)
    found = set()
    for m in IDENT_RE.finditer(bare):
        word = m.group(0)
        if m.start() > 0 and (bare[m.start() - 1].isdigit() or bare[m.start() - 1] == "."):
            continue  # the exponent of 1e9, the unit of offset 10m
        after = bare[m.end():].lstrip()
        if word in PROMQL_WORDS or after.startswith("("):
            continue  # a keyword or a function call
        found.add(word)
    return found


GRAFANA_VARS = re.compile(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}?")


def promql_of(expr):
    """A Grafana expression as Prometheus would get it: interval variables
    become a duration, other variables a value."""

    def sub(m):
        return "5m" if m.group(1).startswith("__") else "x"

    return GRAFANA_VARS.sub(sub, expr)


# What an operator looks for first: the dashboard must show each.
DASHBOARD_NEEDS = {
    "ingest rate": "hallbus_hq_events_received_total",
    "ack latency": "hallbus_hq_ack_latency_seconds_bucket",
    "halls online": "hallbus_hq_halls_by_state",
    "alerts open": "hallbus_hq_alerts_open",
    "disk": "hallbus_hq_disk_avail_bytes",
    "store size": "hallbus_hq_store_bytes",
    "HTTP latency": "hallbus_hq_http_request_duration_seconds_bucket",
    "process CPU": "process_cpu_seconds_total",
    "process RSS": "process_resident_memory_bytes",
}


def start_check(path, scrapes, problems, load, errors, what):
    """What both checks begin with: a `bad(msg)` that records a problem of
    `path`, the metric names known from the scrapes, and the document read
    by `load`; `ok` is False (and the problem recorded) when `load` raised
    one of `errors`."""
    def bad(msg):
        problems.append("%s: %s" % (path, msg))

    known = scrape_names(scrapes, problems) | SYNTHETIC
    with open(path, encoding="utf-8") as f:
        try:
            return bad, known, True, load(f)
        except errors as e:
            bad("not %s: %s" % (what, e))
            return bad, known, False, None


def check_dashboard(path, out_path, scrapes, problems):
    bad, known, ok, d = start_check(path, scrapes, problems, json.load, ValueError, "JSON")
    if not ok:
        return
    if not isinstance(d, dict):
        bad("not a JSON object")
        return
    for key, kind in (("title", str), ("uid", str), ("schemaVersion", int), ("panels", list),
                      ("templating", dict)):
        if not isinstance(d.get(key), kind):
            bad("'%s' missing or not a %s" % (key, kind.__name__))
    if isinstance(d.get("uid"), str) and not re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", d["uid"]):
        bad("uid %r is not one Grafana takes" % d["uid"])
    variables = set()
    for v in (d.get("templating") or {}).get("list", []):
        if not isinstance(v, dict) or not v.get("name") or not v.get("type"):
            bad("a template variable without name or type")
            continue
        variables.add(v["name"])
    if "datasource" not in variables:
        bad("no 'datasource' variable: the dashboard would be tied to one data source")
    ids, rules, used = set(), [], set()
    for p in d.get("panels") or []:
        if not isinstance(p, dict):
            bad("a panel that is not an object")
            continue
        title = p.get("title") or "(untitled)"
        pid = p.get("id")
        if not isinstance(pid, int) or pid in ids:
            bad("panel '%s': id %r missing or used twice" % (title, pid))
        ids.add(pid)
        g = p.get("gridPos")
        if not isinstance(g, dict) or not all(isinstance(g.get(k), int) for k in "hwxy"):
            bad("panel '%s': gridPos needs integers h, w, x, y" % title)
        elif g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24 or g["h"] < 1 or g["y"] < 0:
            bad("panel '%s': gridPos %r is outside 24 columns" % (title, g))
        if not isinstance(p.get("type"), str):
            bad("panel '%s': no type" % title)
            continue
        if p["type"] == "row":
            continue
        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            bad("panel '%s': no targets" % title)
            continue
        refs = set()
        for t in targets:
            ref, expr = t.get("refId"), t.get("expr")
            if not isinstance(ref, str) or ref in refs:
                bad("panel '%s': refId %r missing or used twice" % (title, ref))
            refs.add(ref)
            if not isinstance(expr, str) or not expr.strip():
                bad("panel '%s' %s: no expression" % (title, ref))
                continue
            for var in GRAFANA_VARS.findall(expr):
                if not var.startswith("__") and var not in variables:
                    bad("panel '%s' %s: variable $%s is not defined" % (title, ref, var))
            names = metrics_in(promql_of(expr))
            if not names:
                bad("panel '%s' %s: reads no metric: %s" % (title, ref, expr))
            for n in sorted(names - known):
                bad("panel '%s' %s: %s is not in the scrapes" % (title, ref, n))
            used |= names
            rules.append({"record": "hallbus_dashboard:panel%s_%s" % (pid, ref),
                          "expr": promql_of(expr)})
    for topic, metric in DASHBOARD_NEEDS.items():
        if metric not in used:
            bad("no panel shows %s (%s)" % (topic, metric))
    with open(out_path, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, sort_keys=False)
    print("%s: %d panels, %d expressions, %d metrics" % (path, len(ids), len(rules), len(used)))


# The alerts issue 16 asks for, by the names the rules file gives them.
RULES_NEED = ("HallbusHQDown", "HallbusWriterStalled", "HallbusHQDiskFilling",
              "HallbusHallsOfflineSurge")


def check_rules(path, scrapes, problems):
    bad, known, ok, doc = start_check(path, scrapes, problems, yaml.safe_load, yaml.YAMLError,
                                      "YAML")
    if not ok:
        return
    groups = doc.get("groups") if isinstance(doc, dict) else None
    if not isinstance(groups, list) or not groups:
        bad("no groups")
        return
    alerts = set()
    for g in groups:
        for r in g.get("rules") or []:
            name = r.get("alert")
            if not name:
                bad("group %s: a rule that is not an alert" % g.get("name"))
                continue
            if name in alerts:
                bad("%s: twice" % name)
            alerts.add(name)
            if not isinstance(r.get("expr"), str) or not r["expr"].strip():
                bad("%s: no expression" % name)
                continue
            if not re.fullmatch(r"\d+[smh]", str(r.get("for", ""))):
                bad("%s: no 'for' duration" % name)
            if (r.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                bad("%s: severity must be critical, warning or info" % name)
            ann = r.get("annotations") or {}
            for key in ("summary", "description"):
                if not isinstance(ann.get(key), str) or not ann[key].strip():
                    bad("%s: no %s" % (name, key))
            names = metrics_in(r["expr"])
            if not names:
                bad("%s: reads no metric" % name)
            for n in sorted(names - known):
                bad("%s: %s is not in the scrapes" % (name, n))
    for need in RULES_NEED:
        if need not in alerts:
            bad("no alert %s" % need)
    print("%s: %d alerts" % (path, len(alerts)))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    problems = []
    cmd = argv[1]
    if cmd == "exposition":
        for path in argv[2:]:
            with open(path, encoding="utf-8") as f:
                check_exposition(path, f.read(), problems)
    elif cmd == "dashboard" and len(argv) >= 5:
        check_dashboard(argv[2], argv[3], argv[4:], problems)
    elif cmd == "rules" and len(argv) >= 4:
        check_rules(argv[2], argv[3:], problems)
    else:
        sys.stderr.write(__doc__)
        return 2
    for p in problems:
        sys.stderr.write(p + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
