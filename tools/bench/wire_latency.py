#!/usr/bin/env python3
"""How long a server took to answer, read off the wire.

A benchmark's own client times a request from its side: its library's
set-up, the connection, and the server's answer together. To compare two
builds of hqd whose benchmarks have different clients (the build from
before issue 11 had a hand-written one, today's uses libcurl), this reads a
packet capture of the benchmark's HTTP traffic and times, per request, the
server alone: from the packet carrying the request's first line to the
packet carrying the answer's status line, as the kernel stamped them. That
includes the time the request waited for hqd's loop and the handler's own.

    tcpdump -i lo -s 160 -B 65536 --time-stamp-precision=nano \\
        -w /tmp/live.pcap 'tcp portrange 19900-20399' &
    build/tools/bench_live --halls 2000 --seconds 60
    kill %1
    tools/bench/wire_latency.py /tmp/live.pcap --path /v1/regions

bench_live's HTTP port is 19900-20399 (its ZeroMQ port + 500). Requests
with keep-alive, IPv4 and IPv6, Ethernet (Linux's lo) and Linux cooked
captures are read; the capture must hold each packet's first bytes
(-s 160). Written here rather than taken from a package: tshark or
tcptrace could give the same, but neither is on the machine, and this is
one small loop over the standard library. `--self-test` checks it on a
capture it writes itself (ctest runs it).
"""
import argparse
import io
import struct
import sys

LINK_ETHERNET, LINK_LINUX_SLL, LINK_RAW = 1, 113, 101


def packets(f):
    """(seconds, source port, destination port, payload start, payload
    length) of each TCP packet in a pcap file."""
    head = f.read(24)
    if len(head) < 24:
        raise ValueError('not a pcap file: shorter than its 24-byte header')
    magic = struct.unpack('<I', head[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        order = '<'
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        order = '>'
        magic = struct.unpack('>I', head[:4])[0]
    else:
        raise ValueError('not a pcap file (magic %08x); pcapng is not read: '
                         'write with tcpdump -w' % magic)
    scale = 1e9 if magic == 0xa1b23c4d else 1e6
    link = struct.unpack(order + 'I', head[20:24])[0]
    skip = {LINK_ETHERNET: 14, LINK_LINUX_SLL: 16, LINK_RAW: 0}.get(link)
    if skip is None:
        raise ValueError('link type %d is not read (Ethernet, Linux cooked '
                         'or raw IP are)' % link)
    while True:
        rec = f.read(16)
        if len(rec) < 16:
            return
        sec, frac, incl, _orig = struct.unpack(order + 'IIII', rec)
        data = f.read(incl)
        ip = data[skip:]
        if len(ip) < 20:
            continue
        if ip[0] >> 4 == 4:
            ihl = (ip[0] & 15) * 4
            if ip[9] != 6:
                continue
            total = struct.unpack('>H', ip[2:4])[0]
            tcp, after_ip = ip[ihl:], total - ihl
        elif ip[0] >> 4 == 6 and len(ip) >= 40:
            if ip[6] != 6:
                continue  # extension headers are not followed
            tcp, after_ip = ip[40:], struct.unpack('>H', ip[4:6])[0]
        else:
            continue
        if len(tcp) < 20:
            continue
        sport, dport = struct.unpack('>HH', tcp[:4])
        off = (tcp[12] >> 4) * 4
        yield (sec + frac / scale, sport, dport, tcp[off:off + 32],
               after_ip - off)


def latencies(f, path):
    """Milliseconds from each request whose first line is GET/POST/...
    `path` to its answer's status line, in the order the answers came."""
    want = b' ' + path.encode()
    asked, out = {}, []
    for t, sport, dport, start, length in packets(f):
        if length <= 0:
            continue
        if start.startswith(b'HTTP/1.'):
            t0 = asked.pop((dport, sport), None)
            if t0 is not None:
                out.append((t - t0) * 1e3)
            continue
        sp = start.find(b' ')
        if 0 < sp <= 7 and start[:sp].isupper() and start[sp:].startswith(want):
            asked[(sport, dport)] = t
    return out


def pct(sorted_ms, q):
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


def summary(ms):
    if not ms:
        return 'no answered requests'
    s = sorted(ms)
    return ('%d answered: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms;'
            ' over 2 ms %d, over 4 ms %d' % (
                len(s), pct(s, .50), pct(s, .90), pct(s, .99), s[-1],
                sum(1 for x in s if x > 2), sum(1 for x in s if x > 4)))


def self_test():
    """A capture written here: three requests on two connections (one
    keep-alive) and one that is never answered, with known gaps."""
    def ether_ipv4(sport, dport, payload):
        tcp = struct.pack('>HHIIBBHHH', sport, dport, 0, 0, 5 << 4, 0x18,
                          65535, 0, 0) + payload
        ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0, 64,
                         6, 0, b'\x7f\0\0\1', b'\x7f\0\0\1')
        return b'\0' * 12 + b'\x08\x00' + ip + tcp
    buf = io.BytesIO()
    buf.write(struct.pack('<IHHiIII', 0xa1b23c4d, 2, 4, 0, 0, 65535,
                          LINK_ETHERNET))

    def put(ns, frame):
        buf.write(struct.pack('<IIII', ns // 10**9, ns % 10**9, len(frame),
                              len(frame)) + frame)
    srv = 20000
    put(1_000_000_000, ether_ipv4(40001, srv, b'GET /v1/regions HTTP/1.1\r\n'))
    put(1_000_400_000, ether_ipv4(srv, 40001, b'HTTP/1.1 200 OK\r\n'))
    put(1_000_500_000, ether_ipv4(srv, 40001, b'{"regions":[]}'))
    put(1_001_000_000, ether_ipv4(40001, srv, b'GET /v1/regions/CN HTTP/1.1'))
    put(1_003_500_000, ether_ipv4(srv, 40001, b'HTTP/1.1 200 OK\r\n'))
    put(1_004_000_000, ether_ipv4(40002, srv, b'GET /v1/live/halls HTTP/1.1'))
    put(1_009_000_000, ether_ipv4(srv, 40002, b'HTTP/1.1 200 OK\r\n'))
    put(1_010_000_000, ether_ipv4(40003, srv, b'GET /v1/regions HTTP/1.1\r\n'))
    buf.seek(0)
    got = latencies(buf, '/v1/regions')
    assert [round(x, 6) for x in got] == [0.4, 2.5], got
    buf.seek(0)
    assert [round(x, 6) for x in latencies(buf, '/v1/live')] == [5.0]
    assert summary(got).startswith('2 answered: p50 2.500 ms'), summary(got)
    try:
        list(packets(io.BytesIO(b'\x0a\x0d\x0d\x0a' + b'\0' * 20)))
    except ValueError as e:
        assert 'pcapng is not read' in str(e), e
    else:
        raise AssertionError('a pcapng file was read')
    print('wire_latency: self-test passed')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('capture', nargs='?', help='a pcap file from tcpdump -w')
    ap.add_argument('--path', default='/v1/regions',
                    help='requests whose path starts with this (default '
                    '/v1/regions)')
    ap.add_argument('--self-test', action='store_true',
                    help='check the reader on a capture it writes itself')
    a = ap.parse_args()
    if a.self_test:
        self_test()
        return 0
    if not a.capture:
        ap.error('name a capture file, or --self-test')
    try:
        with open(a.capture, 'rb') as f:
            ms = latencies(f, a.path)
    except (OSError, ValueError) as e:
        print('wire_latency: %s: %s' % (a.capture, e), file=sys.stderr)
        return 1
    print('%s in %s: %s' % (a.path, a.capture, summary(ms)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
