#!/usr/bin/env python3
"""A real SMTP server for monquery's report e-mail tests (ReportMailTests), on aiosmtpd.

    smtp-server.py --port P --directory D [--cert C --key K] [--user U --password W]
                   [--refuse-auth] [--hang]

Serves 127.0.0.1:P with STARTTLS (with --cert/--key; required before MAIL and AUTH) and AUTH
PLAIN/LOGIN (with --user/--password; required before MAIL). Each message received is kept
in D as msg-N.eml (the bytes as received) and msg-N.json: the envelope (mail_from,
rcpt_tos), whether the session was TLS (STARTTLS) and authenticated and as whom, the
headers, the MIME parts' types, and each attachment decoded to msg-N-<filename>. Failed
AUTH attempts are counted in D/auth-failures. --refuse-auth refuses every AUTH (the
credentials are still checked for presence). --hang accepts connections and never answers
(not even the greeting): a server that hangs. Prints "ready" once listening; runs until
SIGTERM.
"""

import argparse
import email
import email.policy
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--directory", required=True)
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--refuse-auth", action="store_true")
parser.add_argument("--hang", action="store_true")
args = parser.parse_args()
os.makedirs(args.directory, exist_ok=True)

# SIGTERM ends the process at once: every message is on disk already (its JSON renamed into
# place last), and aiosmtpd's orderly stop waits for open sessions (a client mid-delivery).
# The test process may start its children with these signals blocked: unblock them first.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.signal(signal.SIGINT, lambda *_: os._exit(0))
stop = threading.Event()

if args.hang:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(16)
    listener.settimeout(0.2)
    held = []
    print("ready", flush=True)
    while not stop.is_set():
        try:
            connection, _ = listener.accept()
            held.append(connection)  # never read, never written: the client waits
            with open(os.path.join(args.directory, "hang-connections"), "a") as f:
                f.write("1\n")
        except socket.timeout:
            pass
    sys.exit(0)

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

lock = threading.Lock()
counter = [0]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        not args.refuse_auth
        and isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == args.user
        and auth_data.password.decode() == args.password
    )
    if not ok:
        with lock, open(os.path.join(args.directory, "auth-failures"), "a") as f:
            f.write(f"{mechanism}\n")
        return AuthResult(success=False, handled=False)
    return AuthResult(success=True, auth_data=auth_data.login.decode())


class Handler:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            counter[0] += 1
            n = counter[0]
        stem = os.path.join(args.directory, f"msg-{n}")
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts, attachments = [], []
        for part in message.walk():
            parts.append(part.get_content_type())
            if part.get_content_disposition() == "attachment":
                name = os.path.basename(part.get_filename() or f"attachment-{len(attachments)}")
                path = f"{stem}-{name}"
                with open(path, "wb") as f:
                    f.write(part.get_payload(decode=True))
                attachments.append({"filename": name, "path": path, "content_type": part.get_content_type()})
        bodies = {}
        for kind in ("plain", "html"):
            body = message.get_body(preferencelist=(kind,))
            bodies[kind] = body.get_content() if body is not None else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "auth_login": session.auth_data if isinstance(session.auth_data, str) else None,
            "headers": [[k, str(v)] for k, v in message.items()],
            "parts": parts,
            "attachments": attachments,
            "text": bodies["plain"],
            "html": bodies["html"],
            "max_line_bytes": max((len(line) for line in raw.split(b"\r\n")), default=0),
        }
        with open(stem + ".eml", "wb") as f:
            f.write(raw)
        # The JSON last, written whole then renamed: the test waits for it.
        with open(stem + ".json.tmp", "w") as f:
            json.dump(meta, f, indent=1)
        os.rename(stem + ".json.tmp", stem + ".json")
        return "250 OK"


context = None
if args.cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=args.port,
    tls_context=context,
    require_starttls=context is not None,
    authenticator=authenticator if args.user or args.refuse_auth else None,
    auth_required=bool(args.user or args.refuse_auth),
    auth_require_tls=context is not None,
    decode_data=False,
)
controller.start()
print("ready", flush=True)
while not stop.is_set():
    time.sleep(0.2)
controller.stop()
