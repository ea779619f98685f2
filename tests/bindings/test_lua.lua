-- The Lua C module (bindings/lua) against the installed library and the
-- installed module, run by Lua 5.4 and 5.3.
--
-- A pool and a client in one Lua state, their bytes moved by hand as if over
-- sockets (fds are plain numbers): handshake, data both ways from 1 byte to
-- 1 MiB, sockets lost with bytes in flight both ways and resumed three
-- times, events, counters, settings, the manual clock, errors, close and
-- __gc, and protocol version 2 when the build has it. Every byte of both
-- streams is compared with what was sent.
--
-- Usage: lua5.4 test_lua.lua MODULE_DIR LIBRARY_DIR [SEED]
-- The module must be found through package.cpath (LUA_CPATH_5_4 or
-- LUA_CPATH) and the library through the dynamic linker, as a user's would;
-- the arguments say where both must have come from.
-- Exits 0 with an OK line, or prints FAIL and what went wrong and exits 1.

local module_dir, library_dir, seed_arg = arg[1], arg[2], arg[3]
if not module_dir or not library_dir then
  io.stderr:write("usage: lua test_lua.lua MODULE_DIR LIBRARY_DIR [SEED]\n")
  os.exit(2)
end
local seed = math.tointeger(tonumber(seed_arg)) or (os.time() % 2147483647)

local checks = 0
local Failure = {}

local function fail(what)
  error(setmetatable({ what = what }, Failure), 0)
end

local function check(cond, what)
  checks = checks + 1
  if not cond then fail(what) end
end

-- `fn(...)` must raise an error whose text contains `needle`.
local function check_error(needle, what, fn, ...)
  local ok, err = pcall(fn, ...)
  check(not ok, what .. ": no error")
  check(tostring(err):find(needle, 1, true), what .. ": error '" .. tostring(err) .. "' does not say '" .. needle .. "'")
end

-- A deterministic generator (xorshift32), so a failure can be replayed.
local state = seed ~= 0 and seed or 1
local function next32()
  local x = state
  x = (x ~ (x << 13)) & 0xffffffff
  x = x ~ (x >> 17)
  x = (x ~ (x << 5)) & 0xffffffff
  state = x
  return x
end

local function data(n)
  local words = {}
  for i = 1, (n + 3) // 4 do words[i] = string.pack("<I4", next32()) end
  return table.concat(words):sub(1, n)
end

local function randint(lo, hi)
  return lo + next32() % (hi - lo + 1)
end

------------------------------------------------------------------ the world

-- What a poll returned, as a table (type, id, data) for the pool.
local function pool_messages(pool)
  local out = {}
  while true do
    local t, id, d = pool:poll()
    if t == nil then return out end
    out[#out + 1] = { type = t, id = id, data = d }
  end
end

local function client_messages(client)
  local out = {}
  while true do
    local t, d = client:poll()
    if t == nil then return out end
    out[#out + 1] = { type = t, data = d }
  end
end

-- The world itself is shared with test_luajit.lua.
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
local world = dofile(script_dir .. "/lua_world.lua") {
  check = check, fail = fail, data = data, randint = randint,
  pool_messages = pool_messages, client_messages = client_messages,
}
local closes_string = world.closes_string

-- Windows of 2 MiB: more is lost in flight below than the default holds.
local function new_world(sc, pool, client)
  local w = world.new_world(sc, pool, client)
  w.pool:set_window(1048576 * 2)
  if not client then w.client:set_window(1048576 * 2) end
  return w
end

-- The types of the events collected so far, joined by commas; then forgotten.
local function take_events(list)
  local names = {}
  for i, ev in ipairs(list) do
    names[#names + 1] = ev.type
    list[i] = nil
  end
  return table.concat(names, ",")
end

------------------------------------------------------------------ checks

local function check_loading(sc)
  local found = package.searchpath("stableconn", package.cpath)
  check(found == module_dir .. "/stableconn.so",
        "module found at " .. tostring(found) .. ", expected the installed copy in " .. module_dir)
  local lib = sc.library_path()
  check(lib and lib:sub(1, #library_dir + 1) == library_dir .. "/" and lib:find("libstableconn.so", 1, true),
        "library loaded from " .. tostring(lib) .. ", expected the installed copy in " .. library_dir)
  check(sc.version():match("^%d+%.%d+%.%d+$"), "version string " .. sc.version())
  check(sc.VERSION == sc.version(), "header version " .. sc.VERSION .. ", library " .. sc.version())
  check(type(sc.HAVE_PROTOCOL_2) == "boolean", "HAVE_PROTOCOL_2 is not a boolean")
  check(sc.POOL_IN == 1 and sc.POOL_OUT == 2 and sc.POOL_EVENT == 3, "pool message types")
  check(sc.MESSAGE_IN == 1 and sc.MESSAGE_OUT == 2 and sc.MESSAGE_EVENT == 3, "client message types")
  check(sc.DEFAULT_WINDOW == 65536 and sc.DEFAULT_WINDOW_V2 == 262144, "default windows")
  check(sc.strerror(-1) == "invalid argument", "strerror(-1) is '" .. sc.strerror(-1) .. "'")
  check(type(sc.reason_string(sc.REASON_EXPIRED)) == "string", "reason_string")

  -- The three names come from the one file.
  check(type(require("stableconn.server")) == "function", "stableconn.server is not a constructor")
  check(type(require("stableconn.client")) == "function", "stableconn.client is not a constructor")
end

-- Objects: kinds, arguments, errors, close and the garbage collector.
local function check_objects(sc)
  local server, client = require("stableconn.server"), require("stableconn.client")
  local p, c = server(), client()
  check(getmetatable(p).__name == "stableconn.pool", "pool metatable " .. tostring(getmetatable(p).__name))
  check(getmetatable(c).__name == "stableconn.client", "client metatable " .. tostring(getmetatable(c).__name))
  check(getmetatable(sc.pool()) == getmetatable(p), "two kinds of pool")
  check(tostring(p):find("^stableconn%.pool"), "tostring(pool) " .. tostring(p))
  check(tostring(c):find("^stableconn%.client"), "tostring(client) " .. tostring(c))
  -- A method of one kind refuses the other.
  check_error("stableconn.pool expected", "pool.poll(client)", p.poll, c)
  check_error("stableconn.client expected", "client.poll(pool)", c.poll, p)
  check_error("stableconn.pool expected", "pool.poll(table)", p.poll, {})

  -- Arguments are checked, strictly.
  check_error("session id must be an integer", "send(nil, ...)", p.send, p, nil, "x")
  check_error("session id must be an integer", "send('1', ...)", p.send, p, "1", "x")
  check_error("data must be a string, got number", "send(1, 5)", p.send, p, 1, 5)
  check_error("fd must be an integer", "recv(1.5, ...)", p.recv, p, 1.5, "x")
  check_error("out of range", "recv(2^40, ...)", p.recv, p, 1 << 40, "x")
  check_error("data must be a string", "client send(nil)", c.send, c, nil)
  check_error("window must be an integer", "set_window('x')", p.set_window, p, "x")
  check_error("out of range", "set_window(-1)", p.set_window, p, -1)
  -- Errors of the library carry sc_strerror's text and the code.
  check_error("stableconn: invalid argument (-1)", "set_window(0)", p.set_window, p, 0)
  check_error("stableconn: invalid argument (-1)", "handshake timeout 0", p.set_handshake_timeout, p, 0)
  check_error("stableconn: invalid argument (-1)", "client set_window(0)", c.set_window, c, 0)
  check_error("stableconn: invalid argument (-1)", "socket_opened(-1)", p.socket_opened, p, -1)
  check_error("stableconn: no such session (-4)", "session_info(99)", p.session_info, p, 99)
  check_error("stableconn: no such session (-4)", "session_backlog(99)", p.session_backlog, p, 99)
  check_error("unknown pool setting 'windw'", "settings{windw}", p.settings, p, { windw = 1 })
  check_error("unknown pool setting", "pool{...}", sc.pool, { 1 })
  check_error("unknown client option 'key'", "client{key}", sc.client, { key = "x" })
  check_error("server key must be 32 bytes", "client(short key)", sc.client, "short")
  check_error("events must be a boolean", "enable_events(1)", p.enable_events, p, 1)

  -- close(): idempotent, and every later call raises a clear error.
  p:close()
  p:close()
  check(p:closed(), "closed() after close")
  check(tostring(p) == "stableconn.pool (closed)", "tostring of a closed pool " .. tostring(p))
  check_error("stableconn: the pool is closed", "poll after close", p.poll, p)
  check_error("stableconn: the pool is closed", "send after close", p.send, p, 1, "x")
  check_error("stableconn: the pool is closed", "stats after close", p.stats, p)
  c:close()
  c:close()
  check(c:closed(), "client closed()")
  check_error("stableconn: the client is closed", "client poll after close", c.poll, c)
  check_error("stableconn: the client is closed", "handshake after close", c.handshake, c)

  -- Objects left to the garbage collector are freed by __gc, closed or not.
  for i = 1, 200 do
    local q, k = server(), sc.client()
    q:recv(3, "x")
    k:send("y")
    if i % 2 == 0 then q:close() end
  end
  collectgarbage()
  collectgarbage()

  -- Lua 5.4: to-be-closed variables close the objects at the end of the block.
  if _VERSION == "Lua 5.4" then
    local chunk = assert(load([[
      local sc, keep = ...
      do
        local p <close> = sc.pool()
        local c <close> = sc.client()
        keep.p, keep.c = p, c
      end
    ]]))
    local keep = {}
    chunk(sc, keep)
    check(keep.p:closed() and keep.c:closed(), "<close> did not close the objects")
  end
end

-- Settings, the manual clock and the handshake timeout.
local function check_settings(sc)
  local p = sc.pool {
    window = 200000, handshake_timeout = 1000, reuse_timeout = 0, max_handshakes = 5,
    max_sessions = 100, max_bytes = 1 << 30, events = true, clock = 0,
  }
  p:socket_opened(9)
  p:set_clock(999)
  p:timeout()
  check(p:poll() == nil, "the handshake timed out early")
  check_error("the clock must not go back", "clock going back", p.set_clock, p, 10)
  p:set_clock(1001)
  p:timeout()
  -- The close goes out first (output before input), then the event.
  local t, fd, d = p:poll()
  check(t == sc.POOL_OUT and fd == 9 and d == "", "no close of the timed-out socket")
  t, fd, d = p:poll()
  check(t == sc.POOL_EVENT and fd == 0 and type(d) == "table" and d.type == "handshake_refused" and d.fd == 9 and
        d.reason == sc.REASON_TIMED_OUT and d.reason_name == sc.reason_string(sc.REASON_TIMED_OUT),
        "no handshake_refused event for the timed-out socket")
  check(p:poll() == nil, "more after the timeout")
  check(p:stats().refused_timed_out == 1, "refused_timed_out " .. p:stats().refused_timed_out)
  p:set_clock(nil)

  -- The handshake cap: the socket over it is closed at once.
  local q = sc.pool()
  q:set_max_handshakes(1)
  q:socket_opened(30)
  check(q:poll() == nil, "the first announced socket was refused")
  q:socket_opened(31)
  t, fd, d = q:poll()
  check(t == sc.POOL_OUT and fd == 31 and d == "", "no close for the socket over the cap")
  check(q:settings { max_handshakes = 0 } == q, "settings() returns the pool")
  q:close()
  p:close()
end

local function check_session(sc)
  local pool = sc.pool { events = true }
  local client = sc.client { window = 2 * 1048576, events = true }
  local w = new_world(sc, pool, client)

  -- Data sent before the handshake completes waits for it.
  w:client_send(5)
  w:pump(5)
  check(w.session_id == 1, "first session id " .. tostring(w.session_id) .. ", expected 1")
  w:check_streams("handshake")
  local sid = w.session_id
  check(take_events(w.pool_events) == "session_opened", "pool events after the handshake")
  check(take_events(w.client_events) == "connected", "client events after the handshake")
  check(client:stats().state == "established", "client state " .. client:stats().state)
  local info = pool:session_info(sid)
  check(info.state == "attached" and info.fd == 5 and info.version == 1, "session info after the handshake")

  -- Data both ways from 1 byte to 1 MiB, then many messages between two pumps.
  w:exchange({ 1, 2, 3, 255, 256, 257, 1000, 4095, 4096, 65536, 100001, 1048576 }, 17, 5, "exchange")
  w:burst(40, 20000, 5)

  -- Loss 1: the pool hears of it first, and sends more while detached.
  -- More is lost than the default 64 KiB window holds: the windows set
  -- through the module must be in effect.
  w:server_send(3000)
  w:server_send(150000)
  w:client_send(120000)
  w:client_send(7)
  check(w:lose_server_output() == 153000, "server bytes lost in flight 1")
  check(w:lose_client_output() == 120007, "client bytes lost in flight 1")
  pool:socket_closed(5)
  check(take_events(w.pool_events) == "", "events before the detach")
  w:server_send(2000)
  local t, id, ev = pool:poll()
  check(t == sc.POOL_EVENT and id == sid and ev.type == "session_detached" and ev.fd == 5,
        "no session_detached event")
  check(pool:poll() == nil, "a detached session produced output")
  check(pool:session_backlog(sid) == 2000, "backlog of the detached session: " .. pool:session_backlog(sid))
  info = pool:session_info(sid)
  check(info.state == "detached" and info.fd == -1 and info.backlog == 2000, "session info while detached")
  client:handshake()
  w:client_send(50) -- while resuming: goes out after the resend
  w:pump(6)
  w:check_streams("resume after loss 1")
  check(w.session_id == sid, "session id changed")
  check(#w.closes == 0, "unexpected close requests " .. closes_string(w))
  check(take_events(w.pool_events) == "session_resumed", "pool events after resume 1")
  check(take_events(w.client_events) == "resumed", "client events after resume 1")

  -- Loss 2: the client notices first; the pool must ask to close fd 6 once
  -- the session moves to fd 7.
  w:client_send(40000)
  w:server_send(30000)
  check(w:lose_client_output() == 40000, "client loss 2")
  check(w:lose_server_output() == 30000, "server loss 2")
  client:handshake()
  w:pump(7)
  w:check_streams("resume after loss 2")
  check(#w.closes == 1 and w.closes[1] == 6, "close requests " .. closes_string(w) .. ", expected {6}")
  local resumed = w.pool_events[#w.pool_events]
  check(resumed and resumed.type == "session_resumed" and resumed.old_fd == 6 and resumed.fd == 7 and
        resumed.resent_bytes == 30000, "session_resumed event of resume 2")
  take_events(w.pool_events)
  take_events(w.client_events)

  -- Loss 3: part of what was in flight did arrive, cut mid-message; the
  -- pool hears of the loss through recv(fd, "") (EOF), as in 2014.
  w:server_send(10000)
  w:server_send(5000)
  w:client_send(9000)
  w:client_send(11)
  check(w:lose_client_output(7, 4321) == 9011 - 4321, "client loss 3")
  check(w:lose_server_output(7, 12345) == 15000 - 12345, "server loss 3")
  pool:recv(7, "")
  client:handshake()
  w:pump(8)
  w:check_streams("resume after loss 3")
  check(#w.closes == 1, "close requests " .. closes_string(w))

  -- The stream goes on, large messages included.
  for _, n in ipairs({ 1048576, 77, 300000 }) do
    w:client_send(n)
    w:server_send(n)
  end
  w:pump(8)
  w:check_streams("after the resumes")
  check(w.session_id == sid, "session id changed")

  -- The counters agree with what the test moved.
  local ps, cs = pool:stats(), client:stats()
  check(ps.sessions_opened == 1 and ps.reuses == 3 and ps.sessions_open == 1, "pool session counters")
  check(ps.bytes_in == w.sent_c2s.size, "pool bytes_in " .. ps.bytes_in .. ", sent " .. w.sent_c2s.size)
  check(ps.bytes_out == w.sent_s2c.size, "pool bytes_out " .. ps.bytes_out .. ", sent " .. w.sent_s2c.size)
  check(cs.reuses == 3 and cs.version == 1 and cs.state == "established", "client counters")
  check(cs.bytes_in == w.sent_s2c.size and cs.bytes_out == w.sent_c2s.size, "client byte counters")
  check(client:backlog() == 0, "client backlog " .. client:backlog())

  -- A second client, legacy style, gets a session of its own.
  local other = require("stableconn.client")()
  other:send("second")
  local got, ids = {}, {}
  local moved = true
  while moved do
    moved = false
    for _, m in ipairs(client_messages(other)) do
      moved = true
      if m.type == sc.MESSAGE_OUT then pool:recv(20, m.data) end
    end
    for _, m in ipairs(pool_messages(pool)) do
      moved = true
      if m.type == sc.POOL_OUT and m.id == 20 and m.data ~= "" then
        other:recv(m.data)
      elseif m.type == sc.POOL_IN then
        ids[#ids + 1] = m.id
        got[#got + 1] = m.data
      end
    end
  end
  check(table.concat(got) == "second" and #ids == 1 and ids[1] == 2,
        "second client: '" .. table.concat(got) .. "' on sessions {" .. table.concat(ids, ",") .. "}")
  other:close()

  -- Ending the session closes its socket; a resume of it is refused.
  pool:enable_events(false)
  pool:close_session(sid)
  t, id = pool:poll()
  check(t == sc.POOL_OUT and id == 8, "close request after close_session")
  check(pool:poll() == nil, "more output after close_session")
  client:handshake()
  w:pump(9)
  local refused = false
  for _, fd in ipairs(w.closes) do refused = refused or fd == 9 end
  check(refused, "the resume of an ended session was not refused")

  -- Giving up: one dead message, then nothing.
  client:enable_events(false)
  client:abandon()
  local ct, cd = client:poll()
  check(ct == sc.MESSAGE_IN and cd == "", "no dead message after abandon()")
  check(client:poll() == nil, "output after the dead message")
  client:recv("late")
  check(client:poll() == nil, "input accepted after the dead message")
  check(client:stats().state == "dead", "state after abandon " .. client:stats().state)

  client:close()
  pool:close()
end

-- Protocol version 2: keys, a keyed pool serving both versions, data both
-- ways, three lost sockets, PING, CLOSE and refusals.
local function check_v2(sc)
  if not sc.HAVE_PROTOCOL_2 then
    check_error("(-5)", "keypair without version 2", sc.keypair)
    print("test_lua: the library has no protocol version 2; its calls say so")
    return
  end
  local priv, pub = sc.keypair()
  check(#priv == 32 and #pub == 32, "key sizes")
  check(sc.public_key(priv) == pub, "public_key() disagrees with keypair()")
  check(select(2, sc.keypair()) ~= pub, "two key pairs were the same")
  check_error("private key must be 32 bytes", "public_key(short)", sc.public_key, "short")

  local pool = sc.pool()
  check_error("stableconn: not allowed in the current state (-2)", "version 2 before the key",
              pool.set_versions, pool, sc.PROTOCOL_2)
  check_error("out of range", "server id 65536", pool.set_server_id, pool, 65536)
  pool:settings { static_key = priv, server_id = 258, versions = sc.PROTOCOL_1 | sc.PROTOCOL_2 }
  local client = sc.client { server_key = pub, window = 2 * 1048576, events = true }
  local w = new_world(sc, pool, client)
  w:client_send(10)
  w:pump(40)
  check(w.session_id ~= nil, "no version 2 session")
  local cs = client:stats()
  check(cs.state == "established" and cs.version == 2, "version 2 client state " .. cs.state)
  local info = pool:session_info(w.session_id)
  check(info.version == 2 and #info.session_id == 16 and info.session_id:sub(1, 2) == "\2\1",
        "version 2 session id does not start with server id 258")
  check(take_events(w.client_events) == "connected", "version 2 connected event")
  w:exchange({ 1, 4095, 4096, 65536, 300001, 1048576 }, 3, 40, "version 2 exchange")
  for k = 0, 2 do
    w:client_send(randint(1, 50000))
    w:server_send(randint(1, 50000))
    w:lose_client_output()
    w:lose_server_output()
    pool:socket_closed(40 + k)
    client:handshake()
    w:pump(41 + k)
    w:check_streams("version 2 resume " .. (k + 1))
  end
  check(client:stats().reuses == 3, "client reuses " .. client:stats().reuses)
  check(pool:stats().reuses_v2 == 3, "pool reuses_v2 " .. pool:stats().reuses_v2)
  take_events(w.client_events)
  client:ping()
  w:pump(43)
  check(client:stats().pongs == 1, "pongs " .. client:stats().pongs)
  local pong = w.client_events[#w.client_events]
  check(pong and pong.type == "pong" and pong.version == 2, "no pong event")

  -- Version 1 beside version 2 on the same pool.
  local w1 = new_world(sc, pool)
  w1:client_send(100)
  w1:pump(50)
  check(w1.session_id ~= nil and w1.session_id ~= w.session_id, "version 1 beside version 2")
  w1:check_streams("version 1 beside version 2")

  client:close_session()
  w:pump(43)
  check(closes_string(w):find("43", 1, true), "the pool did not close the socket after CLOSE: " .. closes_string(w))
  check(w.client_dead, "the client is not dead after close_session()")
  check(client:stats().state == "dead", "state after CLOSE")
  check_error("not supported", "close_session on version 1", w1.client.close_session, w1.client)

  -- A client with the wrong key is refused.
  local _, other_pub = sc.keypair()
  local other = sc.client(other_pub)
  local wrong = new_world(sc, pool, other)
  wrong:pump(60)
  check(closes_string(wrong):find("60", 1, true), "a wrong key was not refused")
  check(other:stats().last_failure == sc.REASON_REJECTED, "wrong-key reason " .. other:stats().last_failure)
  pool:set_versions(sc.PROTOCOL_2)
  local w3 = new_world(sc, pool)
  w3:pump(61)
  check(closes_string(w3):find("61", 1, true), "version 1 was not refused by a version 2 only pool")
  client:close()
  other:close()
  pool:close()
end

local ok, err = pcall(function()
  local sc = require("stableconn")
  check_loading(sc)
  check_objects(sc)
  check_settings(sc)
  check_session(sc)
  check_v2(sc)
end)
if not ok then
  if getmetatable(err) == Failure then
    io.stderr:write(string.format("FAIL (%s, seed %d): %s\n", _VERSION, seed, err.what))
  else
    io.stderr:write(string.format("FAIL (%s, seed %d): unexpected error: %s\n", _VERSION, seed, tostring(err)))
  end
  os.exit(1)
end
print(string.format("test_lua OK: %s, %d checks passed, library %s, seed %d",
                    _VERSION, checks, require("stableconn").library_path(), seed))
-- Left for __gc when the interpreter closes its state.
LEFT_ALIVE = { require("stableconn").pool(), require("stableconn").client() }
