#!/usr/bin/env python3
"""The Python binding against the installed library and the installed module.

A pool and a client in one process, their bytes moved by hand as if over
sockets (fds are plain numbers): handshake, data both ways in many sizes,
sockets lost with bytes in flight both ways, reconnects, and every byte of
both streams checked after each step.

Usage: test_python.py --module-dir DIR --library PATH
The module must be importable (PYTHONPATH) and STABLECONN_LIBRARY set, as a
user would do; the two arguments say where both must have come from.
Exits 0 with an OK line, or prints FAIL and what went wrong and exits 1.
"""

import argparse
import os
import random
import re
import sys
import traceback


class Failure(Exception):
    pass


checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise Failure(what)


def same_file(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


class World:
    """One pool and one client; what each side was asked to send and what
    the other side was handed."""

    def __init__(self, sc, rng, pool=None, client=None):
        self.sc = sc
        self.rng = rng
        self.pool = pool or sc.Pool()
        self.pool.set_window(1 << 20)
        self.client = client or sc.Client(window=1 << 20)
        self.session_id = None
        self.in_ids = set()
        self.closes = []
        self.client_dead = False
        self.sent_c2s = bytearray()
        self.got_c2s = bytearray()
        self.sent_s2c = bytearray()
        self.got_s2c = bytearray()

    def data(self, n):
        return self.rng.getrandbits(8 * n).to_bytes(n, "little")

    def client_send(self, n):
        d = self.data(n)
        self.sent_c2s += d
        self.client.send(d)

    def server_send(self, n):
        d = self.data(n)
        self.sent_s2c += d
        self.pool.send(self.session_id, d)

    def pieces(self, data):
        """Cuts data the way a socket may: random sizes, some of one byte."""
        out, k = [], 0
        while k < len(data):
            n = self.rng.choice((1, 7, 300, 4096, 65536))
            out.append(data[k:k + n])
            k += n
        return out

    def client_in(self, m):
        check(m.type == self.sc.MESSAGE_IN, "client message type %r" % (m.type,))
        if m.is_dead:
            self.client_dead = True
        else:
            self.got_s2c += m.data

    def server_in(self, m):
        check(m.type == self.sc.POOL_IN, "pool message type %r" % (m.type,))
        check(len(m.data) > 0, "POOL_IN without data")
        if self.session_id is None:
            self.session_id = m.id
        self.in_ids.add(m.id)
        self.got_c2s += m.data

    def pump(self, fd):
        """Moves bytes over socket `fd` until nothing moves; server output
        for any other fd is dropped (that socket is gone)."""
        to_client = 0
        moved = True
        while moved:
            moved = False
            for m in self.client.messages():
                moved = True
                if m.type == self.sc.MESSAGE_OUT:
                    check(len(m.data) > 0, "empty MESSAGE_OUT")
                    for piece in self.pieces(m.data):
                        self.pool.recv(fd, piece)
                else:
                    self.client_in(m)
            for m in self.pool.messages():
                moved = True
                if m.is_close:
                    self.closes.append(m.id)
                elif m.type == self.sc.POOL_OUT:
                    if m.id == fd:
                        to_client += len(m.data)
                        for piece in self.pieces(m.data):
                            self.client.recv(piece)
                else:
                    self.server_in(m)
        return to_client

    def lose_client_output(self, deliver_to=None, delivered=0):
        """The client's pending output dies with its socket, except its first
        `delivered` bytes, which reach the pool on fd `deliver_to`."""
        lost = 0
        for m in self.client.messages():
            if m.type == self.sc.MESSAGE_OUT:
                keep = min(delivered, len(m.data))
                if keep:
                    self.pool.recv(deliver_to, m.data[:keep])
                    delivered -= keep
                lost += len(m.data) - keep
            else:
                self.client_in(m)
        return lost

    def lose_server_output(self, deliver_from=None, delivered=0):
        """The pool's pending output dies with its socket, except the first
        `delivered` bytes for fd `deliver_from`, which reach the client."""
        out = bytearray()
        lost = 0
        for m in self.pool.messages():
            if m.is_close:
                self.closes.append(m.id)
            elif m.type == self.sc.POOL_OUT:
                if m.id == deliver_from:
                    out += m.data
                else:
                    lost += len(m.data)
            else:
                self.server_in(m)
        if out[:delivered]:
            self.client.recv(bytes(out[:delivered]))
        return lost + max(0, len(out) - delivered)

    def check_streams(self, where):
        for name, sent, got in (("client->server", self.sent_c2s, self.got_c2s),
                                ("server->client", self.sent_s2c, self.got_s2c)):
            if sent != got:
                k = next((i for i, (a, b) in enumerate(zip(sent, got)) if a != b),
                         min(len(sent), len(got)))
                raise Failure("%s: %s stream differs: sent %d bytes, received %d, first "
                              "difference at byte %d" % (where, name, len(sent), len(got), k))
        check(not self.client_dead, "%s: the client reported its connection dead" % where)
        check(self.in_ids <= {self.session_id},
              "%s: data arrived on sessions %r, expected only %r"
              % (where, sorted(self.in_ids), self.session_id))


def check_loading(sc, module_dir, library):
    check(same_file(os.path.dirname(sc.__file__), module_dir),
          "module imported from %s, expected the installed copy in %s" % (sc.__file__, module_dir))
    check(os.environ.get("STABLECONN_LIBRARY"), "STABLECONN_LIBRARY is not set")
    lib = sc.load_library()
    check(same_file(lib.path, library),
          "library loaded from %s, expected the installed %s" % (lib.path, library))
    check(sc.load_library(library) is not None, "explicit path")
    check(re.match(r"^\d+\.\d+\.\d+$", sc.version()) is not None,
          "version string %r" % sc.version())
    check(sc.DEFAULT_WINDOW == 65536 and sc.DEFAULT_WINDOW_V2 == 262144, "default windows")

    missing = os.path.join(module_dir, "no-such-libstableconn.so")
    try:
        sc.Pool(library=missing)
    except OSError as e:
        check("no-such-libstableconn.so" in str(e), "error names the missing library: %s" % e)
    else:
        raise Failure("a pool was created from a missing library")


def check_session(sc, rng):
    w = World(sc, rng)

    # Extension errors come back as exceptions carrying the C code.
    try:
        w.pool.set_window(0)
    except sc.StableConnError as e:
        check(e.code == -1, "set_window(0) error code %d" % e.code)
    else:
        raise Failure("set_window(0) was accepted")

    # The budget and the accept-time clock, on a pool of their own.
    with sc.Pool() as p:
        p.set_max_sessions(10)
        p.set_max_bytes(1 << 24)
        p.set_max_handshakes(1)
        try:
            p.socket_opened(-1)
        except sc.StableConnError as e:
            check(e.code == -1, "socket_opened(-1) error code %d" % e.code)
        else:
            raise Failure("socket_opened(-1) was accepted")
        p.socket_opened(30)
        check(p.poll() is None, "the first announced socket was refused")
        p.socket_opened(31)  # over the handshake cap: refused at once
        m = p.poll()
        check(m is not None and m.is_close and m.id == 31, "no close for the second socket: %r" % (m,))

    # Data sent before the handshake completes waits for it.
    w.client_send(5)
    w.pump(5)
    check(w.session_id == 1, "first session id %r, expected 1" % w.session_id)
    w.check_streams("handshake")
    sid = w.session_id

    # Data both ways in many sizes, then many messages between two pumps.
    for n in (1, 2, 3, 255, 256, 257, 1000, 4095, 4096, 65536, 100001, 1 << 20):
        w.client_send(n)
        w.server_send(n + 17)
        w.pump(5)
        w.check_streams("exchange of %d bytes" % n)
    for _ in range(40):
        w.client_send(rng.randint(1, 20000))
        w.server_send(rng.randint(1, 20000))
    w.pump(5)
    w.check_streams("burst")

    # Loss 1: the pool hears of it first, and sends more while detached.
    # More is lost than the default 64 KiB window holds: the windows set
    # through the extension must be in effect.
    w.server_send(3000)
    w.server_send(150000)
    w.client_send(120000)
    w.client_send(7)
    lost = w.lose_server_output()
    check(lost == 153000, "server bytes lost in flight: %d" % lost)
    lost = w.lose_client_output()
    check(lost == 120007, "client bytes lost in flight: %d" % lost)
    w.pool.socket_closed(5)
    w.server_send(2000)
    check(w.pool.poll() is None, "a detached session produced output")
    check(w.pool.session_backlog(sid) == 2000,
          "backlog of the detached session: %d" % w.pool.session_backlog(sid))
    check(len(w.sent_s2c) - len(w.got_s2c) == 155000, "server bytes missing before the reuse")
    w.client.handshake()
    w.client_send(50)  # while resuming: goes out after the resend
    w.pump(6)
    w.check_streams("reuse after loss 1")
    check(w.session_id == sid, "session id changed")
    check(w.closes == [], "unexpected close requests %r" % w.closes)

    # Loss 2: the client notices first; the pool must ask to close fd 6
    # once the session moves to fd 7.
    w.client_send(40000)
    w.server_send(30000)
    check(w.lose_client_output() == 40000, "client loss 2")
    check(w.lose_server_output() == 30000, "server loss 2")
    w.client.handshake()
    w.pump(7)
    w.check_streams("reuse after loss 2")
    check(w.closes == [6], "close requests %r, expected [6]" % w.closes)

    # Loss 3: part of what was in flight did arrive, cut mid-message; the
    # pool hears of the loss through recv(fd, b"") (EOF).
    w.server_send(10000)
    w.server_send(5000)
    w.client_send(9000)
    w.client_send(11)
    lost_c = w.lose_client_output(deliver_to=7, delivered=4321)
    lost_s = w.lose_server_output(deliver_from=7, delivered=12345)
    check(lost_c == 9011 - 4321, "client loss 3: %d" % lost_c)
    check(lost_s == 15000 - 12345, "server loss 3: %d" % lost_s)
    w.pool.recv(7, b"")
    w.client.handshake()
    w.pump(8)
    w.check_streams("reuse after loss 3")
    check(w.closes == [6], "close requests %r" % w.closes)

    # The stream goes on, large messages included.
    for n in (1 << 20, 77, 300000):
        w.client_send(n)
        w.server_send(n)
    w.pump(8)
    w.check_streams("after the reuses")
    check(w.session_id == sid, "session id changed")

    # A second client gets a session of its own.
    other = sc.Client()
    other.send(b"second")
    got = bytearray()
    ids = set()
    moved = True
    while moved:
        moved = False
        for m in other.messages():
            moved = True
            if m.type == sc.MESSAGE_OUT:
                w.pool.recv(20, m.data)
        for m in w.pool.messages():
            moved = True
            if m.type == sc.POOL_OUT and m.id == 20 and m.data:
                other.recv(m.data)
            elif m.type == sc.POOL_IN:
                ids.add(m.id)
                got += m.data
    check(got == b"second" and ids == {2}, "second client: %r on sessions %r" % (bytes(got), ids))
    other.close()

    # Ending the session closes its socket; a reuse of it is refused.
    w.pool.close_session(sid)
    m = w.pool.poll()
    check(m is not None and m.is_close and m.id == 8, "close request after close_session: %r" % (m,))
    check(w.pool.poll() is None, "more output after close_session")
    w.client.handshake()
    w.pump(9)
    check(9 in w.closes, "the reuse of an ended session was not refused")

    # Giving up: one dead message, then nothing.
    w.client.abandon()
    m = w.client.poll()
    check(m is not None and m.is_dead, "no dead message after abandon(): %r" % (m,))
    check(w.client.poll() is None, "output after the dead message")
    w.client.recv(b"late")
    check(w.client.poll() is None, "input accepted after the dead message")

    # Client.recv(b"") (socket.recv's end of file passed on) gives up too,
    # exactly as cc_recv with size 0 and as abandon().
    for empty in (b"", None, bytearray()):
        quitter = sc.Client()
        quitter.poll()  # the new-connection request
        quitter.send(b"queued")
        quitter.recv(empty)
        m = quitter.poll()
        check(m is not None and m.is_dead, "Client.recv(%r) did not drop the connection: %r" % (empty, m))
        check(quitter.poll() is None, "output after Client.recv(%r)" % (empty,))
        quitter.close()

    w.client.close()
    w.pool.close()
    w.pool.close()
    check(w.pool.closed, "closed flag")
    try:
        w.pool.poll()
    except ValueError:
        pass
    else:
        raise Failure("a closed pool was usable")

    with sc.Pool() as p:
        check(p.poll() is None, "new pool has output")
    check(p.closed, "the context manager did not close the pool")


def check_v2(sc, rng):
    """Protocol version 2 through the binding: keys, a keyed pool serving
    both versions, data both ways, lost sockets, PING, CLOSE, and the
    refusals a client reports."""
    try:
        priv, pub = sc.generate_keypair()
    except sc.StableConnError as e:
        check(e.code == sc.ERR_NOT_SUPPORTED, "generate_keypair error %d" % e.code)
        try:
            sc.Client(server_key=bytes(32))
        except sc.StableConnError as e2:
            check(e2.code == sc.ERR_NOT_SUPPORTED, "Client(server_key) error %d" % e2.code)
        else:
            raise Failure("a version 2 client opened in a library without version 2")
        print("test_python: the library has no protocol version 2; its calls say so")
        return
    check(len(priv) == 32 and len(pub) == 32, "key sizes %d and %d" % (len(priv), len(pub)))
    check(sc.public_key(priv) == pub, "public_key() disagrees with generate_keypair()")
    check(sc.generate_keypair() != (priv, pub), "two key pairs were the same")
    try:
        sc.public_key(b"short")
    except ValueError:
        pass
    else:
        raise Failure("a 5-byte key was accepted")

    pool = sc.Pool()
    try:
        pool.set_versions(sc.PROTOCOL_2)  # no key yet
    except sc.StableConnError as e:
        check(e.code == -2, "set_versions before the key: error %d" % e.code)
    else:
        raise Failure("version 2 was accepted before the key")
    pool.set_static_key(priv)
    pool.set_server_id(0x0102)
    pool.set_versions(sc.PROTOCOL_1 | sc.PROTOCOL_2)
    client = sc.Client(window=1 << 20, server_key=pub)
    check(client.version == sc.PROTOCOL_2, "client version %r" % client.version)
    w = World(sc, rng, pool=pool, client=client)
    w.client_send(10)
    w.pump(40)
    check(w.session_id is not None, "no version 2 session")
    check(client.stats()["state"] == "established", "state %r" % client.stats()["state"])
    check(client.stats()["version"] == 2, "stats version %r" % client.stats()["version"])
    for n in (1, 4095, 4096, 65536, 300001):
        w.client_send(n)
        w.server_send(n + 3)
        w.pump(40)
        w.check_streams("version 2 exchange of %d bytes" % n)

    # Sockets lost with bytes in flight both ways, three times.
    for k in range(3):
        w.client_send(rng.randint(1, 50000))
        w.server_send(rng.randint(1, 50000))
        w.lose_client_output()
        w.lose_server_output()
        pool.socket_closed(40 + k)
        client.handshake()
        w.pump(41 + k)
        w.check_streams("version 2 resume %d" % (k + 1))
    check(client.stats()["reuses"] == 3, "client reuses %r" % client.stats()["reuses"])

    client.ping()
    w.pump(43)
    check(client.stats()["pongs"] == 1, "pongs %r" % client.stats()["pongs"])

    # A version 1 client on the same pool.
    w1 = World(sc, rng, pool=pool)
    w1.client_send(100)
    w1.pump(50)
    check(w1.session_id is not None and w1.session_id != w.session_id, "version 1 session %r" % w1.session_id)
    w1.check_streams("version 1 beside version 2")

    # CLOSE: the pool ends the session and closes its socket.
    client.close_session()
    w.pump(43)
    check(43 in w.closes, "the pool did not close the socket after CLOSE: %r" % w.closes)
    check(w.client_dead, "the client is not dead after close_session()")
    check(client.stats()["state"] == "dead", "state after CLOSE %r" % client.stats()["state"])

    # Refusals: a wrong server key, and version 1 on a version 2 only pool.
    other = sc.Client(server_key=sc.generate_keypair()[1])
    wrong = World(sc, rng, pool=pool, client=other)
    wrong.pump(60)
    check(60 in wrong.closes, "a wrong key was not refused")
    check(other.stats()["state"] == "dead", "wrong-key client state %r" % other.stats()["state"])
    check(other.stats()["last_failure"] == 15, "wrong-key reason %r" % other.stats()["last_failure"])
    pool.set_versions(sc.PROTOCOL_2)
    w3 = World(sc, rng, pool=pool)
    w3.pump(61)
    check(61 in w3.closes, "version 1 was not refused by a version 2 only pool")
    for c in (client, other, w1.client, w3.client):
        c.close()
    pool.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--library", required=True)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    try:
        import stableconn
        check_loading(stableconn, args.module_dir, args.library)
        check_session(stableconn, random.Random(seed))
        check_v2(stableconn, random.Random(seed + 1))
    except Failure as e:
        print("FAIL (seed %d): %s" % (seed, e), file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        print("FAIL (seed %d): unexpected exception" % seed, file=sys.stderr)
        return 1
    print("test_python OK: %d checks passed, library %s, seed %d"
          % (checks, stableconn.load_library().path, seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
