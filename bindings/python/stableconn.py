"""Python bindings for stable-connection (libstableconn), through ctypes.

TCP sessions that survive reconnects, sans-IO: the application moves the
bytes between its sockets and a ``Pool`` (server) or a ``Client``; the library
never touches a socket. See the C headers for the full semantics.

    pool = stableconn.Pool()
    pool.recv(fd, sock.recv(65536))
    for m in pool.messages():
        if m.type == stableconn.POOL_OUT:
            ...  # write m.data to socket m.id, or close it if m.data is empty
        else:
            ...  # m.data arrived on session m.id

Objects are not thread-safe: use each one from one thread at a time.
"""

import ctypes
import ctypes.util
import os
from collections import namedtuple

__all__ = [
    "POOL_EMPTY", "POOL_IN", "POOL_OUT",
    "MESSAGE_EMPTY", "MESSAGE_IN", "MESSAGE_OUT",
    "PROTOCOL_1", "PROTOCOL_2", "KEY_SIZE", "ERR_NOT_SUPPORTED",
    "StableConnError", "Library", "load_library", "version",
    "generate_keypair", "public_key",
    "PoolMessage", "ClientMessage", "Pool", "Client",
]

POOL_EMPTY = 0
POOL_IN = 1
POOL_OUT = 2

MESSAGE_EMPTY = 0
MESSAGE_IN = 1
MESSAGE_OUT = 2

# Protocol versions (bits for Pool.set_versions), the key size, and the code
# version 2 calls return from a library built without version 2.
PROTOCOL_1 = 1
PROTOCOL_2 = 2
KEY_SIZE = 32
ERR_NOT_SUPPORTED = -5

# The windows sessions get when none is set: version 1's and version 2's.
DEFAULT_WINDOW = 65536
DEFAULT_WINDOW_V2 = 262144

# Client states, as Client.stats()["state"] gives them.
CLIENT_STATES = {1: "opening", 2: "resuming", 3: "established", 4: "dead", 5: "broken"}

ENV_LIBRARY = "STABLECONN_LIBRARY"
_SONAME = "libstableconn.so.1"


class _PoolMessage(ctypes.Structure):
    # ``buffer`` is not c_char_p: that type would stop at the first NUL byte.
    _fields_ = [
        ("id", ctypes.c_int),
        ("sz", ctypes.c_size_t),
        ("buffer", ctypes.POINTER(ctypes.c_char)),
    ]


class _ConnectionMessage(ctypes.Structure):
    _fields_ = [
        ("sz", ctypes.c_int),
        ("buffer", ctypes.POINTER(ctypes.c_char)),
    ]


_U64 = ctypes.c_uint64


class _ClientStats(ctypes.Structure):
    # struct sc_client_stats, in the header's order (only ever appended to).
    _fields_ = [
        ("state", ctypes.c_int),
        ("sessions_opened", _U64),
        ("reuses", _U64),
        ("refused", _U64),
        ("resets", _U64),
        ("bytes_in", _U64),
        ("bytes_out", _U64),
        ("bytes_resent", _U64),
        ("bytes_held", _U64),
        ("version", ctypes.c_int),
        ("last_failure", ctypes.c_int),
        ("pongs", _U64),
        ("last_rtt_ms", _U64),
    ]


class StableConnError(Exception):
    """An extension call returned a negative SC_ERR_* code (``.code``)."""

    def __init__(self, code, message):
        super().__init__("%s (%d)" % (message, code))
        self.code = code


_P = ctypes.c_void_p
_BUF = ctypes.c_char_p
_SIZE = ctypes.c_size_t
_INT = ctypes.c_int

_LEGACY = {
    "cp_new": (_P, []),
    "cp_delete": (None, [_P]),
    "cp_timeout": (None, [_P]),
    "cp_recv": (None, [_P, _INT, _BUF, _SIZE]),
    "cp_send": (None, [_P, _INT, _BUF, _SIZE]),
    "cp_poll": (_INT, [_P, ctypes.POINTER(_PoolMessage)]),
    "cc_open": (_P, []),
    "cc_close": (None, [_P]),
    "cc_handshake": (None, [_P]),
    "cc_send": (None, [_P, _BUF, _SIZE]),
    "cc_recv": (None, [_P, _BUF, _SIZE]),
    "cc_poll": (_INT, [_P, ctypes.POINTER(_ConnectionMessage)]),
}

# Optional: a library built from the 2014 sources has only the legacy calls.
_EXTENSION = {
    "sc_version": (ctypes.c_char_p, []),
    "sc_strerror": (ctypes.c_char_p, [_INT]),
    "sc_pool_set_handshake_timeout": (_INT, [_P, ctypes.c_uint64]),
    "sc_pool_set_reuse_timeout": (_INT, [_P, ctypes.c_uint64]),
    "sc_pool_set_window": (_INT, [_P, _SIZE]),
    "sc_pool_set_max_handshakes": (_INT, [_P, _SIZE]),
    "sc_pool_set_max_sessions": (_INT, [_P, _SIZE]),
    "sc_pool_set_max_bytes": (_INT, [_P, ctypes.c_uint64]),
    "sc_pool_socket_opened": (_INT, [_P, _INT]),
    "sc_pool_session_backlog": (_INT, [_P, _INT, ctypes.POINTER(ctypes.c_uint64)]),
    "sc_client_set_window": (_INT, [_P, _SIZE]),
    "sc_client_backlog": (_INT, [_P, ctypes.POINTER(ctypes.c_uint64)]),
    "sc_client_get_stats": (_INT, [_P, ctypes.POINTER(_ClientStats), _SIZE]),
    # Protocol version 2.
    "sc_keypair_generate": (_INT, [_BUF, _BUF]),
    "sc_public_key": (_INT, [_BUF, _BUF]),
    "sc_pool_set_static_key": (_INT, [_P, _BUF]),
    "sc_pool_set_server_id": (_INT, [_P, ctypes.c_uint16]),
    "sc_pool_set_versions": (_INT, [_P, ctypes.c_uint]),
    "sc_client_open_v2": (_INT, [_BUF, ctypes.POINTER(_P)]),
    "sc_client_close_session": (_INT, [_P]),
    "sc_client_ping": (_INT, [_P]),
}


class Library:
    """The loaded shared library with its prototypes declared.

    ``path`` is the name it was loaded by. Use ``load_library()`` rather than
    this constructor: it finds the library and loads each one only once.
    """

    def __init__(self, path):
        try:
            self._dll = ctypes.CDLL(path)
        except OSError as e:
            raise OSError("stableconn: cannot load %r: %s" % (path, e)) from e
        self.path = path
        for name, (restype, argtypes) in _LEGACY.items():
            try:
                fn = getattr(self._dll, name)
            except AttributeError:
                raise OSError("stableconn: %r has no %s(): not a stable-connection "
                              "library" % (path, name)) from None
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
        for name, (restype, argtypes) in _EXTENSION.items():
            fn = getattr(self._dll, name, None)
            if fn is not None:
                fn.restype = restype
                fn.argtypes = argtypes
            setattr(self, name, fn)

    def extension(self, name):
        fn = getattr(self, name)
        if fn is None:
            raise NotImplementedError("stableconn: %s() is not in %r" % (name, self.path))
        return fn

    def check(self, code):
        """Raises StableConnError for a negative SC_* code, returns it otherwise."""
        if code < 0:
            text = self.sc_strerror(code) if self.sc_strerror else None
            raise StableConnError(code, text.decode() if text else "stable-connection error")
        return code


_loaded = {}


def _candidates(path):
    if path:
        return [path]
    env = os.environ.get(ENV_LIBRARY)
    if env:
        return [env]
    found = ctypes.util.find_library("stableconn")
    return [found, _SONAME] if found else [_SONAME]


def load_library(path=None):
    """Loads (once) and returns the Library.

    Looks for ``path``, else $STABLECONN_LIBRARY, else what
    ``ctypes.util.find_library("stableconn")`` finds, else libstableconn.so.1
    on the dynamic linker's search path.
    """
    if isinstance(path, Library):
        return path
    if path is not None:
        path = os.fspath(path)
    errors = []
    for name in _candidates(path):
        if name in _loaded:
            return _loaded[name]
        try:
            lib = Library(name)
        except OSError as e:
            errors.append(str(e))
            continue
        _loaded[name] = lib
        return lib
    raise OSError("stableconn: shared library not found (pass a path, set %s, "
                  "or put libstableconn on the library path):\n  %s"
                  % (ENV_LIBRARY, "\n  ".join(errors)))


def version(library=None):
    """The library's version string, e.g. "1.0.0"."""
    return load_library(library).extension("sc_version")().decode()


def generate_keypair(library=None):
    """A new server key pair for protocol version 2: (private, public), 32
    bytes each. Keep the private key secret (Pool.set_static_key); give the
    public key to clients (Client(server_key=...)). Raises StableConnError
    with code ERR_NOT_SUPPORTED from a library built without version 2."""
    lib = load_library(library)
    priv = ctypes.create_string_buffer(KEY_SIZE)
    pub = ctypes.create_string_buffer(KEY_SIZE)
    lib.check(lib.extension("sc_keypair_generate")(priv, pub))
    return priv.raw, pub.raw


def public_key(private_key, library=None):
    """The 32-byte public key of a 32-byte private key."""
    lib = load_library(library)
    private_key = _key(private_key)
    pub = ctypes.create_string_buffer(KEY_SIZE)
    lib.check(lib.extension("sc_public_key")(private_key, pub))
    return pub.raw


def _key(key):
    key = bytes(key)
    if len(key) != KEY_SIZE:
        raise ValueError("a key is %d bytes, not %d" % (KEY_SIZE, len(key)))
    return key


def _as_bytes(data):
    # bytes are passed to C without a copy; other buffers need one.
    return data if isinstance(data, bytes) else bytes(data)


class PoolMessage(namedtuple("PoolMessage", "type id data")):
    """One message from Pool.poll().

    POOL_OUT: ``id`` is a socket fd, write ``data`` to it; empty ``data``
    means close that fd (the pool has already forgotten it).
    POOL_IN: ``id`` is a session id and ``data`` came from its client.
    """

    __slots__ = ()

    @property
    def is_close(self):
        return self.type == POOL_OUT and not self.data


class ClientMessage(namedtuple("ClientMessage", "type data")):
    """One message from Client.poll().

    MESSAGE_OUT: write ``data`` to the socket. MESSAGE_IN: data from the
    server; empty ``data`` means the connection is dead.
    """

    __slots__ = ()

    @property
    def is_dead(self):
        return self.type == MESSAGE_IN and not self.data


class _Handle:
    _free_name = None

    def __init__(self, lib, ptr):
        self._lib = lib
        self._ptr = ptr
        # Kept here so that __del__ works at interpreter exit, when module
        # globals may already be gone.
        self._free = getattr(lib, self._free_name)

    def _handle(self):
        if self._ptr is None:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._ptr

    @property
    def library(self):
        return self._lib

    @property
    def closed(self):
        return self._ptr is None

    def close(self):
        """Frees the C object; later calls raise ValueError. Idempotent."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._free(ptr)

    def messages(self):
        """Iterates poll() until nothing is left to poll."""
        while True:
            m = self.poll()
            if m is None:
                return
            yield m

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_ptr", None) is not None:
            self.close()


class Pool(_Handle):
    """A server pool: every session of a server (cp_* functions).

    ``library`` is a path or a Library; by default see load_library().
    Raises MemoryError when the pool cannot be created.
    """

    _free_name = "cp_delete"

    def __init__(self, library=None):
        lib = load_library(library)
        ptr = lib.cp_new()
        if not ptr:
            raise MemoryError("cp_new() failed")
        super().__init__(lib, ptr)
        self._msg = _PoolMessage()

    def recv(self, fd, data):
        """Feeds bytes read from socket ``fd``.

        Empty data (what socket.recv returns at EOF) or None means the
        socket is gone, as socket_closed(fd).
        """
        if not data:
            self._lib.cp_recv(self._handle(), fd, None, 0)
            return
        data = _as_bytes(data)
        self._lib.cp_recv(self._handle(), fd, data, len(data))

    def socket_closed(self, fd):
        """Socket ``fd`` is gone (EOF, error, or closed by the application).

        Its session waits for the client to come back; afterwards the same fd
        number is a new socket.
        """
        self._lib.cp_recv(self._handle(), fd, None, 0)

    def send(self, session_id, data):
        """Sends data to a session. Empty data sends nothing (see close_session)."""
        if not data:
            self._handle()
            return
        data = _as_bytes(data)
        self._lib.cp_send(self._handle(), session_id, data, len(data))

    def close_session(self, session_id):
        """Ends a session; if it has a socket, poll() asks to close it."""
        self._lib.cp_send(self._handle(), session_id, None, 0)

    def timeout(self):
        """Expires stale handshakes and detached sessions; call about once a second."""
        self._lib.cp_timeout(self._handle())

    def poll(self):
        """The next PoolMessage (data copied out), or None."""
        m = self._msg
        kind = self._lib.cp_poll(self._handle(), ctypes.byref(m))
        if kind == POOL_EMPTY:
            return None
        data = ctypes.string_at(m.buffer, m.sz) if m.sz else b""
        return PoolMessage(kind, m.id, data)

    def set_window(self, nbytes):
        """Resend window of sessions opened after this call (1 B to 1 GiB)."""
        self._lib.check(self._lib.extension("sc_pool_set_window")(self._handle(), nbytes))

    def set_handshake_timeout(self, ms):
        self._lib.check(self._lib.extension("sc_pool_set_handshake_timeout")(self._handle(), ms))

    def set_reuse_timeout(self, ms):
        """0 keeps detached sessions until their window overflows."""
        self._lib.check(self._lib.extension("sc_pool_set_reuse_timeout")(self._handle(), ms))

    def set_max_handshakes(self, n):
        """0 sets no limit."""
        self._lib.check(self._lib.extension("sc_pool_set_max_handshakes")(self._handle(), n))

    def set_max_sessions(self, n):
        """The budget's session cap; 0 sets no limit."""
        self._lib.check(self._lib.extension("sc_pool_set_max_sessions")(self._handle(), n))

    def set_max_bytes(self, nbytes):
        """The budget's byte cap; 0 sets no limit."""
        self._lib.check(self._lib.extension("sc_pool_set_max_bytes")(self._handle(), nbytes))

    def socket_opened(self, fd):
        """Socket ``fd`` was just accepted: its handshake clock starts now."""
        self._lib.check(self._lib.extension("sc_pool_socket_opened")(self._handle(), fd))

    def set_static_key(self, private_key):
        """The pool's 32-byte static private key: it accepts version 2 from now on."""
        self._lib.check(self._lib.extension("sc_pool_set_static_key")(self._handle(), _key(private_key)))

    def set_server_id(self, server_id):
        """The first two bytes of the version 2 session ids this pool makes (0..65535)."""
        if not 0 <= server_id <= 0xFFFF:
            raise ValueError("a server id is 0..65535")
        self._lib.check(self._lib.extension("sc_pool_set_server_id")(self._handle(), server_id))

    def set_versions(self, versions):
        """Which protocol versions new sockets may speak: PROTOCOL_1, PROTOCOL_2
        or both ORed. Version 2 needs the static key first."""
        self._lib.check(self._lib.extension("sc_pool_set_versions")(self._handle(), versions))

    def session_backlog(self, session_id):
        """Bytes given to the session and not yet handed to a socket."""
        out = ctypes.c_uint64()
        self._lib.check(self._lib.extension("sc_pool_session_backlog")(
            self._handle(), session_id, ctypes.byref(out)))
        return out.value


class Client(_Handle):
    """One stable connection, client side (cc_* functions).

    The new-connection handshake is queued at once: connect a socket and
    write out what poll() returns. With ``server_key`` (the server's 32-byte
    public key) the client speaks protocol version 2, else version 1.
    Raises MemoryError when the client cannot be created (no memory or no
    randomness), StableConnError (ERR_NOT_SUPPORTED) for a version 2 client
    from a library built without it.
    """

    _free_name = "cc_close"

    def __init__(self, library=None, window=None, server_key=None):
        lib = load_library(library)
        if server_key is not None:
            out = _P()
            lib.check(lib.extension("sc_client_open_v2")(_key(server_key), ctypes.byref(out)))
            ptr = out.value
        else:
            ptr = lib.cc_open()
            if not ptr:
                raise MemoryError("cc_open() failed")
        super().__init__(lib, ptr)
        self.version = PROTOCOL_2 if server_key is not None else PROTOCOL_1
        self._msg = _ConnectionMessage()
        if window is not None:
            self.set_window(window)

    def handshake(self):
        """Call after connecting a new socket to replace a broken one."""
        self._lib.cc_handshake(self._handle())

    def send(self, data):
        """Sends data; queued while a handshake is in progress. Empty data sends nothing."""
        if not data:
            self._handle()
            return
        data = _as_bytes(data)
        self._lib.cc_send(self._handle(), data, len(data))

    def recv(self, data):
        """Feeds bytes read from the socket.

        Empty data (what socket.recv returns at EOF) or None drops the
        connection for good, as cc_recv with size 0 does and as abandon():
        poll() then reports it dead. To survive an EOF, do not pass it on:
        connect a new socket and call handshake().
        """
        if not data:
            self._lib.cc_recv(self._handle(), None, 0)
            return
        data = _as_bytes(data)
        self._lib.cc_recv(self._handle(), data, len(data))

    def abandon(self):
        """Drops the connection for good; poll() then reports it dead."""
        self._lib.cc_recv(self._handle(), None, 0)

    def poll(self):
        """The next ClientMessage (data copied out), or None."""
        m = self._msg
        kind = self._lib.cc_poll(self._handle(), ctypes.byref(m))
        if kind == MESSAGE_EMPTY:
            return None
        data = ctypes.string_at(m.buffer, m.sz) if m.sz > 0 else b""
        return ClientMessage(kind, data)

    def set_window(self, nbytes):
        """Resend window; only before any data was sent (right after creation)."""
        self._lib.check(self._lib.extension("sc_client_set_window")(self._handle(), nbytes))

    def backlog(self):
        """Bytes given to the client and not yet handed to a socket."""
        out = ctypes.c_uint64()
        self._lib.check(self._lib.extension("sc_client_backlog")(self._handle(), ctypes.byref(out)))
        return out.value

    def close_session(self):
        """Version 2: ends the session for good with a CLOSE after the data
        already sent (write out what poll() returns); the client is then dead."""
        self._lib.check(self._lib.extension("sc_client_close_session")(self._handle()))

    def ping(self):
        """Version 2: sends a PING; its answer shows in stats()["pongs"] and
        stats()["last_rtt_ms"]."""
        self._lib.check(self._lib.extension("sc_client_ping")(self._handle()))

    def stats(self):
        """The client's counters as a dict; "state" is one of CLIENT_STATES'
        names, "version" is 1 or 2."""
        st = _ClientStats()
        self._lib.check(self._lib.extension("sc_client_get_stats")(
            self._handle(), ctypes.byref(st), ctypes.sizeof(st)))
        out = {name: getattr(st, name) for name, _ in _ClientStats._fields_}
        out["state"] = CLIENT_STATES.get(st.state, st.state)
        return out
