-- LuaJIT bindings for stable-connection (libstableconn), through the FFI.
--
-- TCP sessions that survive reconnects, sans-IO: the application moves the
-- bytes between its sockets and a pool (server) or a client; the library
-- never touches a socket. See the C headers for the full semantics.
--
--   local sc = require("stableconn")
--   local pool = sc.pool()
--   pool:recv(fd, bytes_read)
--   for m in pool:messages() do
--     if m.type == sc.POOL_OUT then
--       -- write m.data to socket m.id, or close it if m.data == ""
--     else
--       -- m.data arrived on session m.id
--     end
--   end
--
-- Objects are not thread-safe (use each from one Lua state at a time).

local ffi = require("ffi")

local M = {
  POOL_EMPTY = 0, POOL_IN = 1, POOL_OUT = 2,
  MESSAGE_EMPTY = 0, MESSAGE_IN = 1, MESSAGE_OUT = 2,
  -- Protocol versions (bits for pool:set_versions), the key size, and the
  -- code version 2 calls return from a library built without version 2.
  PROTOCOL_1 = 1, PROTOCOL_2 = 2, KEY_SIZE = 32, ERR_NOT_SUPPORTED = -5,
  -- The windows sessions get when none is set: version 1's and version 2's.
  DEFAULT_WINDOW = 65536, DEFAULT_WINDOW_V2 = 262144,
  ENV_LIBRARY = "STABLECONN_LIBRARY",
}

-- Client states, as client:stats().state gives them.
local client_states = { "opening", "resuming", "established", "dead", "broken" }

-- The structs may already be declared by other code in this Lua state (the
-- FFI refuses to define a struct twice); functions may be declared again.
if not pcall(ffi.typeof, "struct pool_message") then
  ffi.cdef[[
struct pool_message {
  int id;
  size_t sz;
  const char * buffer;
};
]]
end
if not pcall(ffi.typeof, "struct connection_message") then
  ffi.cdef[[
struct connection_message {
  int sz;
  const char * buffer;
};
]]
end

ffi.cdef[[
struct connection_pool;
struct connection;

struct connection_pool * cp_new(void);
void cp_delete(struct connection_pool *cp);
void cp_timeout(struct connection_pool *cp);
void cp_recv(struct connection_pool *cp, int fd, const char * buffer, size_t sz);
void cp_send(struct connection_pool *cp, int id, const char * buffer, size_t sz);
int cp_poll(struct connection_pool *cp, struct pool_message *m);

struct connection * cc_open(void);
void cc_close(struct connection *);
void cc_handshake(struct connection *);
void cc_send(struct connection *, const char * buffer, size_t sz);
void cc_recv(struct connection *, const char * buffer, size_t sz);
int cc_poll(struct connection *, struct connection_message *);

const char *sc_version(void);
const char *sc_strerror(int code);
int sc_pool_set_handshake_timeout(struct connection_pool *cp, uint64_t ms);
int sc_pool_set_reuse_timeout(struct connection_pool *cp, uint64_t ms);
int sc_pool_set_window(struct connection_pool *cp, size_t bytes);
int sc_pool_set_max_handshakes(struct connection_pool *cp, size_t n);
int sc_pool_set_max_sessions(struct connection_pool *cp, size_t n);
int sc_pool_set_max_bytes(struct connection_pool *cp, uint64_t bytes);
int sc_pool_socket_opened(struct connection_pool *cp, int fd);
int sc_pool_session_backlog(struct connection_pool *cp, int id, uint64_t *bytes);
int sc_client_set_window(struct connection *c, size_t bytes);
int sc_client_backlog(struct connection *c, uint64_t *bytes);

int sc_keypair_generate(uint8_t *private_key, uint8_t *public_key);
int sc_public_key(const uint8_t *private_key, uint8_t *public_key);
int sc_pool_set_static_key(struct connection_pool *cp, const uint8_t *key);
int sc_pool_set_server_id(struct connection_pool *cp, uint16_t id);
int sc_pool_set_versions(struct connection_pool *cp, unsigned versions);
int sc_client_open_v2(const uint8_t *server_key, struct connection **out);
int sc_client_close_session(struct connection *c);
int sc_client_ping(struct connection *c);
]]
if not pcall(ffi.typeof, "struct sc_client_stats") then
  ffi.cdef[[
struct sc_client_stats {
  int state;
  uint64_t sessions_opened, reuses, refused, resets, bytes_in, bytes_out, bytes_resent, bytes_held;
  int version, last_failure;
  uint64_t pongs, last_rtt_ms;
};
int sc_client_get_stats(struct connection *c, struct sc_client_stats *st, size_t size);
]]
end

local pool_message_t = ffi.typeof("struct pool_message[1]")
local connection_message_t = ffi.typeof("struct connection_message[1]")
local uint64_box_t = ffi.typeof("uint64_t[1]")
local key_t = ffi.typeof("uint8_t[32]")
local connection_box_t = ffi.typeof("struct connection *[1]")
local client_stats_t = ffi.typeof("struct sc_client_stats[1]")

-- Every library loaded stays referenced here: unloading one would leave the
-- finalizers of its live objects pointing at unmapped code.
local loaded = {}

local function try_load(name)
  if loaded[name] then return loaded[name] end
  local ok, lib = pcall(ffi.load, name)
  if not ok then return nil, tostring(lib) end
  -- Any symbol missing from the legacy API means this is another library.
  local has, err = pcall(function() return lib.cp_new and lib.cc_open end)
  if not has then return nil, name .. ": not a stable-connection library (" .. tostring(err) .. ")" end
  loaded[name] = { clib = lib, name = name }
  return loaded[name]
end

-- Loads the library (once) and returns a handle for pool()/client().
-- Looks for `path`, else $STABLECONN_LIBRARY, else "stableconn" and
-- "libstableconn.so.1" on the dynamic linker's search path.
function M.load(path)
  if type(path) == "table" and path.clib then return path end
  local names
  if path then
    names = { path }
  elseif os.getenv(M.ENV_LIBRARY) and os.getenv(M.ENV_LIBRARY) ~= "" then
    names = { os.getenv(M.ENV_LIBRARY) }
  else
    names = { "stableconn", "libstableconn.so.1" }
  end
  local errors = {}
  for _, name in ipairs(names) do
    local lib, err = try_load(name)
    if lib then return lib end
    errors[#errors + 1] = err
  end
  error("stableconn: shared library not found (pass a path, set " .. M.ENV_LIBRARY ..
        ", or put libstableconn on the library path):\n  " .. table.concat(errors, "\n  "), 2)
end

-- Extension calls are optional: a library built from the 2014 sources has
-- only the legacy ones.
local function extension(lib, name)
  local ok, fn = pcall(function() return lib.clib[name] end)
  if not ok then error("stableconn: " .. name .. "() is not in " .. lib.name, 3) end
  return fn
end

local function check(lib, code)
  if code < 0 then
    local ok, text = pcall(function() return ffi.string(lib.clib.sc_strerror(code)) end)
    error(string.format("stableconn: %s (%d)", ok and text or "stable-connection error", code), 3)
  end
  return code
end

-- The library's version string, e.g. "1.0.0".
function M.version(path)
  local lib = M.load(path)
  return ffi.string(extension(lib, "sc_version")())
end

-- A key as a 32-byte string, checked.
local function key_arg(key)
  if type(key) ~= "string" or #key ~= M.KEY_SIZE then
    error("stableconn: a key is a string of " .. M.KEY_SIZE .. " bytes", 3)
  end
  return key
end

-- A new server key pair for protocol version 2: private, public (32-byte
-- strings). Keep the private key secret (pool:set_static_key); give the
-- public key to clients (client(path, server_key)).
function M.generate_keypair(path)
  local lib = M.load(path)
  local priv, pub = key_t(), key_t()
  check(lib, extension(lib, "sc_keypair_generate")(priv, pub))
  local a, b = ffi.string(priv, M.KEY_SIZE), ffi.string(pub, M.KEY_SIZE)
  ffi.fill(priv, M.KEY_SIZE)
  return a, b
end

-- The public key of a private key (32-byte strings).
function M.public_key(private_key, path)
  local lib = M.load(path)
  local pub = key_t()
  check(lib, extension(lib, "sc_public_key")(key_arg(private_key), pub))
  return ffi.string(pub, M.KEY_SIZE)
end

local function handle(self)
  local p = self.ptr
  if p == nil then error("stableconn: " .. self.kind .. " is closed", 3) end
  return p
end

-- For a generic `for`: the next message each time, nil when none is left.
local function iterate_polls(self)
  return function() return self:poll() end
end

-- Frees the C object with `free` unless already done; the finalizer goes too.
local function release(self, free)
  local p = self.ptr
  if p ~= nil then
    self.ptr = nil
    ffi.gc(p, nil)
    free(p)
  end
end

------------------------------------------------------------------ pool

local Pool = {}
Pool.__index = Pool

-- A server pool: every session of a server. `path` as in load().
-- Raises an error when the pool cannot be created (out of memory).
function M.pool(path)
  local lib = M.load(path)
  local p = lib.clib.cp_new()
  if p == nil then error("stableconn: cp_new() failed (out of memory)", 2) end
  return setmetatable({
    ptr = ffi.gc(p, lib.clib.cp_delete), lib = lib, kind = "pool", msg = pool_message_t(),
  }, Pool)
end

-- Feeds bytes read from socket fd. An empty string or nil means the socket
-- is gone, as socket_closed(fd).
function Pool:recv(fd, data)
  local p = handle(self)
  if data == nil or #data == 0 then
    self.lib.clib.cp_recv(p, fd, nil, 0)
  else
    self.lib.clib.cp_recv(p, fd, data, #data)
  end
end

-- Socket fd is gone: its session waits for the client to come back, and the
-- same fd number is a new socket afterwards.
function Pool:socket_closed(fd)
  self.lib.clib.cp_recv(handle(self), fd, nil, 0)
end

-- Sends data to a session; an empty string sends nothing (see close_session).
function Pool:send(id, data)
  local p = handle(self)
  if #data > 0 then self.lib.clib.cp_send(p, id, data, #data) end
end

-- Ends a session; if it has a socket, poll() asks to close it.
function Pool:close_session(id)
  self.lib.clib.cp_send(handle(self), id, nil, 0)
end

-- Expires stale handshakes and detached sessions; call about once a second.
function Pool:timeout()
  self.lib.clib.cp_timeout(handle(self))
end

-- The next message as { type = POOL_IN|POOL_OUT, id = ..., data = "..." },
-- or nil. POOL_OUT: id is a socket fd; data "" means close that fd.
-- POOL_IN: id is a session id.
function Pool:poll()
  local m = self.msg
  local kind = self.lib.clib.cp_poll(handle(self), m)
  if kind == M.POOL_EMPTY then return nil end
  local sz = tonumber(m[0].sz)
  return { type = kind, id = m[0].id, data = sz > 0 and ffi.string(m[0].buffer, sz) or "" }
end

-- Iterates poll() until the pool is empty.
Pool.messages = iterate_polls

-- Frees the pool; later calls raise an error. Idempotent.
function Pool:close() release(self, self.lib.clib.cp_delete) end

-- Resend window of sessions opened after this call (1 B to 1 GiB).
function Pool:set_window(bytes)
  check(self.lib, extension(self.lib, "sc_pool_set_window")(handle(self), bytes))
end

function Pool:set_handshake_timeout(ms)
  check(self.lib, extension(self.lib, "sc_pool_set_handshake_timeout")(handle(self), ms))
end

-- 0 keeps detached sessions until their window overflows.
function Pool:set_reuse_timeout(ms)
  check(self.lib, extension(self.lib, "sc_pool_set_reuse_timeout")(handle(self), ms))
end

-- 0 sets no limit.
function Pool:set_max_handshakes(n)
  check(self.lib, extension(self.lib, "sc_pool_set_max_handshakes")(handle(self), n))
end

-- The budget's session cap and byte cap; 0 sets no limit.
function Pool:set_max_sessions(n)
  check(self.lib, extension(self.lib, "sc_pool_set_max_sessions")(handle(self), n))
end

function Pool:set_max_bytes(bytes)
  check(self.lib, extension(self.lib, "sc_pool_set_max_bytes")(handle(self), bytes))
end

-- Socket fd was just accepted: its handshake clock starts now.
function Pool:socket_opened(fd)
  check(self.lib, extension(self.lib, "sc_pool_socket_opened")(handle(self), fd))
end

-- The pool's 32-byte static private key: it accepts version 2 from now on.
function Pool:set_static_key(key)
  check(self.lib, extension(self.lib, "sc_pool_set_static_key")(handle(self), key_arg(key)))
end

-- The first two bytes of the version 2 session ids this pool makes (0..65535).
function Pool:set_server_id(id)
  if type(id) ~= "number" or id < 0 or id > 0xFFFF or id % 1 ~= 0 then
    error("stableconn: a server id is an integer 0..65535", 2)
  end
  check(self.lib, extension(self.lib, "sc_pool_set_server_id")(handle(self), id))
end

-- Which versions new sockets may speak: PROTOCOL_1, PROTOCOL_2 or their sum.
-- Version 2 needs the static key first.
function Pool:set_versions(versions)
  check(self.lib, extension(self.lib, "sc_pool_set_versions")(handle(self), versions))
end

-- Bytes given to the session and not yet handed to a socket.
function Pool:session_backlog(id)
  local out = uint64_box_t()
  check(self.lib, extension(self.lib, "sc_pool_session_backlog")(handle(self), id, out))
  return tonumber(out[0])
end

------------------------------------------------------------------ client

local Client = {}
Client.__index = Client

-- One stable connection, client side; the new-connection handshake is
-- queued at once. `path` as in load(). With `server_key` (the server's
-- 32-byte public key) it speaks protocol version 2, else version 1. Raises
-- an error when the client cannot be created (no memory or no randomness,
-- or version 2 from a library built without it).
function M.client(path, server_key)
  local lib = M.load(path)
  local c
  if server_key ~= nil then
    local box = connection_box_t()
    check(lib, extension(lib, "sc_client_open_v2")(key_arg(server_key), box))
    c = box[0]
  else
    c = lib.clib.cc_open()
    if c == nil then error("stableconn: cc_open() failed (out of memory or randomness)", 2) end
  end
  return setmetatable({
    ptr = ffi.gc(c, lib.clib.cc_close), lib = lib, kind = "client", msg = connection_message_t(),
    version = server_key ~= nil and M.PROTOCOL_2 or M.PROTOCOL_1,
  }, Client)
end

-- Call after connecting a new socket to replace a broken one.
function Client:handshake()
  self.lib.clib.cc_handshake(handle(self))
end

-- Sends data, queued while a handshake is in progress; "" sends nothing.
function Client:send(data)
  local c = handle(self)
  if #data > 0 then self.lib.clib.cc_send(c, data, #data) end
end

-- Feeds bytes read from the socket. An empty string or nil drops the
-- connection for good, as cc_recv with size 0 does and as abandon(): poll()
-- then reports it dead. To survive an EOF, do not pass it on: connect a new
-- socket and call handshake().
function Client:recv(data)
  local c = handle(self)
  if data == nil or #data == 0 then
    self.lib.clib.cc_recv(c, nil, 0)
  else
    self.lib.clib.cc_recv(c, data, #data)
  end
end

-- Drops the connection for good; poll() then reports it dead.
function Client:abandon()
  self.lib.clib.cc_recv(handle(self), nil, 0)
end

-- The next message as { type = MESSAGE_IN|MESSAGE_OUT, data = "..." }, or
-- nil. MESSAGE_IN with data "" means the connection is dead.
function Client:poll()
  local m = self.msg
  local kind = self.lib.clib.cc_poll(handle(self), m)
  if kind == M.MESSAGE_EMPTY then return nil end
  local sz = m[0].sz
  return { type = kind, data = sz > 0 and ffi.string(m[0].buffer, sz) or "" }
end

-- Iterates poll() until the client is empty.
Client.messages = iterate_polls

-- Frees the client; later calls raise an error. Idempotent.
function Client:close() release(self, self.lib.clib.cc_close) end

-- Resend window; only before any data was sent (right after client()).
function Client:set_window(bytes)
  check(self.lib, extension(self.lib, "sc_client_set_window")(handle(self), bytes))
end

-- Bytes given to the client and not yet handed to a socket.
function Client:backlog()
  local out = uint64_box_t()
  check(self.lib, extension(self.lib, "sc_client_backlog")(handle(self), out))
  return tonumber(out[0])
end

-- Version 2: ends the session for good with a CLOSE after the data already
-- sent (write out what poll() returns); the client is then dead.
function Client:close_session()
  check(self.lib, extension(self.lib, "sc_client_close_session")(handle(self)))
end

-- Version 2: sends a PING; its answer shows in stats().pongs and
-- stats().last_rtt_ms.
function Client:ping()
  check(self.lib, extension(self.lib, "sc_client_ping")(handle(self)))
end

-- The client's counters as a table; state is "opening", "resuming",
-- "established", "dead" or "broken", version is 1 or 2.
function Client:stats()
  local st = client_stats_t()
  check(self.lib, extension(self.lib, "sc_client_get_stats")(handle(self), st, ffi.sizeof(st)))
  local s = st[0]
  return {
    state = client_states[s.state] or s.state, version = s.version, last_failure = s.last_failure,
    sessions_opened = tonumber(s.sessions_opened), reuses = tonumber(s.reuses), refused = tonumber(s.refused),
    resets = tonumber(s.resets), bytes_in = tonumber(s.bytes_in), bytes_out = tonumber(s.bytes_out),
    bytes_resent = tonumber(s.bytes_resent), bytes_held = tonumber(s.bytes_held),
    pongs = tonumber(s.pongs), last_rtt_ms = tonumber(s.last_rtt_ms),
  }
end

return M
