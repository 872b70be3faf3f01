#!/usr/bin/python3
"""A local mail server for the alert e-mail tests (tests/integration/test_notify.c).

  smtpsink.py serve PORT DIR   accepts mail on 127.0.0.1:PORT (Debian's
                               python3-aiosmtpd) and writes each message to
                               DIR as N.eml, its envelope as N.json
  smtpsink.py read DIR         prints the messages as JSON: envelope, headers
                               as sent, the Subject decoded (RFC 2047) and the
                               body decoded, and whether every header line is
                               plain ASCII (UTF-8 must travel encoded)

Exits 1 with the reason when a message is not well formed.
"""
import email
import email.header
import email.policy
import json
import os
import sys
import time


def serve(port, folder):
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.n = 0

        async def handle_DATA(self, server, session, envelope):
            self.n += 1
            base = os.path.join(folder, "%03d" % self.n)
            with open(base + ".tmp", "wb") as f:
                f.write(envelope.original_content or envelope.content)
            with open(base + ".json", "w") as f:
                json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
            os.rename(base + ".tmp", base + ".eml")
            return "250 Message accepted for delivery"

    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ctl = Controller(Handler(), hostname="127.0.0.1", port=int(port))
    ctl.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def read(folder):
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".eml"):
            continue
        raw = open(os.path.join(folder, name), "rb").read()
        env = json.load(open(os.path.join(folder, name[:-4] + ".json")))
        head = raw.split(b"\r\n\r\n", 1)[0]
        ascii_only = all(b < 0x80 for b in head)
        msg = email.message_from_bytes(raw, policy=email.policy.strict)
        subject = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
        if msg.get_content_type() != "text/plain" or msg.get_content_charset() != "utf-8":
            fail("%s: %s; charset %s" % (name, msg.get_content_type(), msg.get_content_charset()))
        body = msg.get_payload(decode=True).decode("utf-8")
        out.append({"envelope": env, "subject": subject, "body": body,
                    "from": msg["From"], "to": msg["To"], "message_id": msg["Message-ID"],
                    "date": msg["Date"], "ascii_headers": ascii_only,
                    "mime": msg["MIME-Version"], "encoding": msg["Content-Transfer-Encoding"]})
    json.dump({"messages": out}, sys.stdout, ensure_ascii=False)


if sys.argv[1] == "serve":
    serve(sys.argv[2], sys.argv[3])
else:
    read(sys.argv[2])
