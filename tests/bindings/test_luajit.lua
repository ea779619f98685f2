-- The LuaJIT binding against the installed library and the installed module.
--
-- A pool and a client in one process, their bytes moved by hand as if over
-- sockets (fds are plain numbers): handshake, data both ways in many sizes,
-- sockets lost with bytes in flight both ways, reconnects, and every byte of
-- both streams checked after each step.
--
-- Usage: luajit test_luajit.lua MODULE_DIR LIBRARY [SEED]
-- The module must be on LUA_PATH and STABLECONN_LIBRARY set, as a user would
-- do; the two arguments say where both must have come from.
-- Exits 0 with an OK line, or prints FAIL and what went wrong and exits 1.

local ffi = require("ffi")

local module_dir, library, seed_arg = arg[1], arg[2], arg[3]
if not module_dir or not library then
  io.stderr:write("usage: luajit test_luajit.lua MODULE_DIR LIBRARY [SEED]\n")
  os.exit(2)
end
local seed = tonumber(seed_arg) or (os.time() % 2147483647)

local checks = 0
local Failure = {}

local function fail(what)
  error(setmetatable({ what = what }, Failure), 0)
end

local function check(cond, what)
  checks = checks + 1
  if not cond then fail(what) end
end

ffi.cdef[[
char *realpath(const char *path, char *resolved);
void free(void *);
]]

local function realpath(p)
  local r = ffi.C.realpath(p, nil)
  if r == nil then return p end
  local s = ffi.string(r)
  ffi.C.free(r)
  return s
end

local function dirname(p)
  return p:match("^(.*)/[^/]*$") or "."
end

-- A deterministic generator (xorshift32), so a failure can be replayed.
local state = ffi.new("uint32_t[1]", seed ~= 0 and seed or 1)
local buf_t = ffi.typeof("uint8_t[?]")
local function data(n)
  local b = buf_t(n)
  local x = state[0]
  for i = 0, n - 1 do
    x = bit.bxor(x, bit.lshift(x, 13))
    x = bit.bxor(x, bit.rshift(x, 17))
    x = bit.bxor(x, bit.lshift(x, 5))
    b[i] = bit.band(x, 0xff)
  end
  state[0] = x
  return ffi.string(b, n)
end

local function randint(lo, hi)
  local x = state[0]
  x = bit.bxor(x, bit.lshift(x, 13))
  x = bit.bxor(x, bit.rshift(x, 17))
  x = bit.bxor(x, bit.lshift(x, 5))
  state[0] = x
  return lo + tonumber(ffi.cast("uint32_t", x)) % (hi - lo + 1)
end

------------------------------------------------------------------ the world

-- The world itself is shared with test_lua.lua; this module's poll returns
-- a table per message already.
local function all_messages(obj)
  local out = {}
  for m in obj:messages() do out[#out + 1] = m end
  return out
end
local world = dofile(dirname(arg[0]) .. "/lua_world.lua") {
  check = check, fail = fail, data = data, randint = randint,
  pool_messages = all_messages, client_messages = all_messages,
}
local closes_string = world.closes_string

local function new_world(sc, pool, client)
  local w = world.new_world(sc, pool, client)
  w.pool:set_window(1048576)
  w.client:set_window(1048576)
  return w
end

------------------------------------------------------------------ checks

local function check_loading(sc)
  local file = debug.getinfo(sc.load, "S").source:match("^@(.*)$")
  check(file and realpath(dirname(file)) == realpath(module_dir),
        "module loaded from " .. tostring(file) .. ", expected the installed copy in " .. module_dir)
  check(os.getenv("STABLECONN_LIBRARY"), "STABLECONN_LIBRARY is not set")
  local lib = sc.load()
  check(realpath(lib.name) == realpath(library),
        "library loaded from " .. lib.name .. ", expected the installed " .. library)
  check(sc.load(library) ~= nil, "explicit path")
  check(sc.version():match("^%d+%.%d+%.%d+$"), "version string " .. sc.version())
  check(sc.DEFAULT_WINDOW == 65536 and sc.DEFAULT_WINDOW_V2 == 262144, "default windows")

  local ok, err = pcall(sc.pool, module_dir .. "/no-such-libstableconn.so")
  check(not ok, "a pool was created from a missing library")
  check(tostring(err):find("no-such-libstableconn.so", 1, true), "error names the missing library: " .. tostring(err))
end

local function check_session(sc)
  local w = new_world(sc)

  -- Extension errors come back as Lua errors naming the C error.
  local ok, err = pcall(w.pool.set_window, w.pool, 0)
  check(not ok and tostring(err):find("(-1)", 1, true), "set_window(0): " .. tostring(err))

  -- The budget and the accept-time clock, on a pool of their own.
  do
    local p = sc.pool()
    p:set_max_sessions(10)
    p:set_max_bytes(16777216)
    p:set_max_handshakes(1)
    local bad = pcall(p.socket_opened, p, -1)
    check(not bad, "socket_opened(-1) was accepted")
    p:socket_opened(30)
    check(p:poll() == nil, "the first announced socket was refused")
    p:socket_opened(31) -- over the handshake cap: refused at once
    local m = p:poll()
    check(m and m.type == sc.POOL_OUT and m.data == "" and m.id == 31, "no close for the second socket")
    p:close()
  end

  -- Data sent before the handshake completes waits for it.
  w:client_send(5)
  w:pump(5)
  check(w.session_id == 1, "first session id " .. tostring(w.session_id) .. ", expected 1")
  w:check_streams("handshake")
  local sid = w.session_id

  -- Data both ways in many sizes, then many messages between two pumps.
  w:exchange({ 1, 2, 3, 255, 256, 257, 1000, 4095, 4096, 65536, 100001, 1048576 }, 17, 5, "exchange")
  w:burst(40, 20000, 5)

  -- Loss 1: the pool hears of it first, and sends more while detached.
  -- More is lost than the default 64 KiB window holds: the windows set
  -- through the extension must be in effect.
  w:server_send(3000)
  w:server_send(150000)
  w:client_send(120000)
  w:client_send(7)
  local lost = w:lose_server_output()
  check(lost == 153000, "server bytes lost in flight: " .. lost)
  lost = w:lose_client_output()
  check(lost == 120007, "client bytes lost in flight: " .. lost)
  w.pool:socket_closed(5)
  w:server_send(2000)
  check(w.pool:poll() == nil, "a detached session produced output")
  check(w.pool:session_backlog(sid) == 2000, "backlog of the detached session: " .. w.pool:session_backlog(sid))
  check(w.sent_s2c.size - w.got_s2c.size == 155000, "server bytes missing before the reuse")
  w.client:handshake()
  w:client_send(50) -- while resuming: goes out after the resend
  w:pump(6)
  w:check_streams("reuse after loss 1")
  check(w.session_id == sid, "session id changed")
  check(#w.closes == 0, "unexpected close requests " .. closes_string(w))

  -- Loss 2: the client notices first; the pool must ask to close fd 6 once
  -- the session moves to fd 7.
  w:client_send(40000)
  w:server_send(30000)
  check(w:lose_client_output() == 40000, "client loss 2")
  check(w:lose_server_output() == 30000, "server loss 2")
  w.client:handshake()
  w:pump(7)
  w:check_streams("reuse after loss 2")
  check(#w.closes == 1 and w.closes[1] == 6, "close requests " .. closes_string(w) .. ", expected {6}")

  -- Loss 3: part of what was in flight did arrive, cut mid-message; the
  -- pool hears of the loss through recv(fd, "") (EOF).
  w:server_send(10000)
  w:server_send(5000)
  w:client_send(9000)
  w:client_send(11)
  local lost_c = w:lose_client_output(7, 4321)
  local lost_s = w:lose_server_output(7, 12345)
  check(lost_c == 9011 - 4321, "client loss 3: " .. lost_c)
  check(lost_s == 15000 - 12345, "server loss 3: " .. lost_s)
  w.pool:recv(7, "")
  w.client:handshake()
  w:pump(8)
  w:check_streams("reuse after loss 3")
  check(#w.closes == 1, "close requests " .. closes_string(w))

  -- The stream goes on, large messages included.
  for _, n in ipairs({ 1048576, 77, 300000 }) do
    w:client_send(n)
    w:server_send(n)
  end
  w:pump(8)
  w:check_streams("after the reuses")
  check(w.session_id == sid, "session id changed")

  -- A second client gets a session of its own.
  local other = sc.client()
  other:send("second")
  local got, ids = {}, {}
  local moved = true
  while moved do
    moved = false
    for m in other:messages() do
      moved = true
      if m.type == sc.MESSAGE_OUT then w.pool:recv(20, m.data) end
    end
    for m in w.pool:messages() do
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

  -- Ending the session closes its socket; a reuse of it is refused.
  w.pool:close_session(sid)
  local m = w.pool:poll()
  check(m and m.type == sc.POOL_OUT and m.data == "" and m.id == 8, "close request after close_session")
  check(w.pool:poll() == nil, "more output after close_session")
  w.client:handshake()
  w:pump(9)
  local refused = false
  for _, fd in ipairs(w.closes) do refused = refused or fd == 9 end
  check(refused, "the reuse of an ended session was not refused")

  -- Giving up: one dead message, then nothing.
  w.client:abandon()
  m = w.client:poll()
  check(m and m.type == sc.MESSAGE_IN and m.data == "", "no dead message after abandon()")
  check(w.client:poll() == nil, "output after the dead message")
  w.client:recv("late")
  check(w.client:poll() == nil, "input accepted after the dead message")

  -- client:recv("") (an end of file passed on) gives up too, exactly as
  -- cc_recv with size 0 and as abandon().
  for _, empty in ipairs({ "", false }) do
    local quitter = sc.client()
    quitter:poll() -- the new-connection request
    quitter:send("queued")
    if empty then quitter:recv(empty) else quitter:recv(nil) end
    local q = quitter:poll()
    check(q and q.type == sc.MESSAGE_IN and q.data == "", "client:recv(" .. tostring(empty) .. ") did not drop the connection")
    check(quitter:poll() == nil, "output after client:recv of nothing")
    quitter:close()
  end

  w.client:close()
  w.pool:close()
  w.pool:close()
  check(not pcall(w.pool.poll, w.pool), "a closed pool was usable")

  -- Objects left to the garbage collector are freed by their finalizers.
  for _ = 1, 100 do
    local p, c = sc.pool(), sc.client()
    p:recv(3, "x")
    c:send("y")
  end
  collectgarbage()
  collectgarbage()
end

-- Protocol version 2 through the binding: keys, a keyed pool serving both
-- versions, data both ways, lost sockets, PING, CLOSE and refusals.
local function check_v2(sc)
  local ok, priv, pub = pcall(sc.generate_keypair)
  if not ok then
    check(tostring(priv):find("(-5)", 1, true), "generate_keypair failed: " .. tostring(priv))
    print("test_luajit: the library has no protocol version 2; its calls say so")
    return
  end
  check(#priv == 32 and #pub == 32, "key sizes")
  check(sc.public_key(priv) == pub, "public_key() disagrees with generate_keypair()")
  check(select(2, sc.generate_keypair()) ~= pub, "two key pairs were the same")
  check(not pcall(sc.public_key, "short"), "a 5-byte key was accepted")

  local pool = sc.pool()
  local refused, why = pcall(pool.set_versions, pool, sc.PROTOCOL_2)
  check(not refused and tostring(why):find("(-2)", 1, true), "version 2 before the key: " .. tostring(why))
  pool:set_static_key(priv)
  pool:set_server_id(258)
  check(not pcall(pool.set_server_id, pool, 65536), "server id 65536 was accepted")
  pool:set_versions(sc.PROTOCOL_1 + sc.PROTOCOL_2)
  local client = sc.client(nil, pub)
  check(client.version == 2, "client version")
  local w = new_world(sc, pool, client)
  w:client_send(10)
  w:pump(40)
  check(w.session_id ~= nil, "no version 2 session")
  check(client:stats().state == "established", "state " .. tostring(client:stats().state))
  check(client:stats().version == 2, "stats version")
  w:exchange({ 1, 4095, 4096, 65536, 300001 }, 3, 40, "version 2 exchange")
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
  client:ping()
  w:pump(43)
  check(client:stats().pongs == 1, "pongs " .. client:stats().pongs)

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

  local _, other_pub = sc.generate_keypair()
  local other = sc.client(nil, other_pub)
  local wrong = new_world(sc, pool, other)
  wrong:pump(60)
  check(closes_string(wrong):find("60", 1, true), "a wrong key was not refused")
  check(other:stats().last_failure == 15, "wrong-key reason " .. other:stats().last_failure)
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
  check_session(sc)
  check_v2(sc)
end)
if not ok then
  if getmetatable(err) == Failure then
    io.stderr:write(string.format("FAIL (seed %d): %s\n", seed, err.what))
  else
    io.stderr:write(string.format("FAIL (seed %d): unexpected error: %s\n", seed, tostring(err)))
  end
  os.exit(1)
end
print(string.format("test_luajit OK: %d checks passed, library %s, seed %d",
                    checks, require("stableconn").load().name, seed))
-- Left for the finalizers that run when the interpreter closes its state.
LEFT_ALIVE = { require("stableconn").pool(), require("stableconn").client() }
