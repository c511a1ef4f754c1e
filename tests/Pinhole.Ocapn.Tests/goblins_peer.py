#!/usr/bin/env python3
"""An independent OCapN tcp-tls peer, written from the wire description of Goblins'
goblins/ocapn/netlayer/tcp-tls.scm (not from Pinhole's code), using only the standard library.

listen: accept one TCP connection on 127.0.0.1, write a 4-byte little-endian length and the
        certificate PEM (exact file bytes) before TLS, then be a TLS server that never asks
        for a client certificate. Then echo one line back prefixed with "goblins-echo:".
dial:   connect, read the 4-byte length and the PEM, compare sha256(sha256(pem)) in lowercase
        hex with the designator (exit 3 on mismatch, sending nothing), then TLS trusting only
        that certificate; present our own certificate if the server asks (as GnuTLS does when
        the client has credentials loaded). Send one line and print the reply.

Prints "PORT <n>" (listen), "DESIGNATOR-OK", "GOT <line>", "CLOSED" on stdout; errors on stderr.
"""
import argparse
import hashlib
import socket
import ssl
import struct
import sys

MAX_PEM = 1 << 20


def recv_exactly(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_line(tls):
    line = b""
    while not line.endswith(b"\n"):
        chunk = tls.recv(1)
        if not chunk:
            return None
        line += chunk
    return line


def listen(args):
    with open(args.pem_file or args.cert, "rb") as f:
        pem = f.read()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.verify_mode = ssl.CERT_NONE  # Goblins never requests a client certificate.
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(args.timeout)
    print("PORT %d" % srv.getsockname()[1], flush=True)
    for _ in range(args.connections):
        conn, _ = srv.accept()
        conn.settimeout(args.timeout)
        conn.sendall(struct.pack("<I", len(pem)) + pem)
        try:
            tls = ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as e:
            print("HANDSHAKE-FAILED %s" % e, flush=True)
            conn.close()
            continue
        print("TLS %s" % tls.version(), flush=True)
        line = recv_line(tls)
        if line is None:
            print("CLOSED", flush=True)
        else:
            print("GOT %s" % line.decode("utf-8").rstrip("\n"), flush=True)
            tls.sendall(b"goblins-echo:" + line)
        tls.close()
    srv.close()
    return 0


def dial(args):
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    (length,) = struct.unpack("<I", recv_exactly(sock, 4))
    if length == 0 or length > MAX_PEM:
        print("BAD-LENGTH %d" % length, file=sys.stderr, flush=True)
        return 4
    pem = recv_exactly(sock, length)
    actual = hashlib.sha256(hashlib.sha256(pem).digest()).hexdigest()
    if actual != args.designator:
        print("MISMATCH expected %s got %s" % (args.designator, actual), file=sys.stderr, flush=True)
        sock.close()
        return 3
    print("DESIGNATOR-OK", flush=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    if hasattr(ssl, "VERIFY_X509_STRICT"):
        ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
    ctx.load_verify_locations(cadata=pem.decode("ascii"))
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    tls = ctx.wrap_socket(sock, server_hostname=None)
    if tls.getpeercert(binary_form=True) != ssl.PEM_cert_to_DER_cert(pem.decode("ascii")):
        print("PINNED-CERT-DIFFERS", file=sys.stderr, flush=True)
        return 5
    print("TLS %s" % tls.version(), flush=True)
    tls.sendall(args.message.encode("utf-8") + b"\n")
    line = recv_line(tls)
    print("GOT %s" % (line.decode("utf-8").rstrip("\n") if line else "<eof>"), flush=True)
    tls.close()
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    l = sub.add_parser("listen")
    l.add_argument("--cert", required=True)
    l.add_argument("--key", required=True)
    l.add_argument("--pem-file", help="send this PEM before TLS instead of --cert")
    l.add_argument("--connections", type=int, default=1)
    l.add_argument("--timeout", type=float, default=30)
    d = sub.add_parser("dial")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, required=True)
    d.add_argument("--designator", required=True)
    d.add_argument("--cert")
    d.add_argument("--key")
    d.add_argument("--message", default="hello from goblins")
    d.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()
    try:
        return listen(args) if args.mode == "listen" else dial(args)
    except (OSError, EOFError, ssl.SSLError) as e:
        print("ERROR %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
