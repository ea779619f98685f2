-- The world both Lua binding tests run in (test_lua.lua for the C module,
-- test_luajit.lua for the FFI module): a pool and a client whose bytes are
-- moved by hand as if over sockets, and the streams each way checked byte
-- for byte. Plain Lua 5.1 syntax, so that LuaJIT loads it too.
--
-- local world = dofile(dir .. "/lua_world.lua") {
--   check = ..., fail = ..., data = ..., randint = ...,   -- the test's own
--   pool_messages = fn(pool), client_messages = fn(client), -- lists of
-- }                                                      -- {type, id, data}
-- world.new_world(sc, pool, client) -> a World; world.closes_string(w)
return function(env)
local check, fail, data, randint = env.check, env.fail, env.data, env.randint
local pool_messages, client_messages = env.pool_messages, env.client_messages

-- A growing byte stream kept as pieces, joined only to compare.
local function stream()
  return { parts = {}, size = 0 }
end
local function append(s, d)
  s.parts[#s.parts + 1] = d
  s.size = s.size + #d
end
local function joined(s)
  local j = table.concat(s.parts)
  s.parts = { j }
  return j
end

local function first_difference(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    if a:byte(i) ~= b:byte(i) then return i - 1 end
  end
  return n
end

local World = {}
World.__index = World

local function new_world(sc, pool, client)
  local w = setmetatable({
    sc = sc,
    pool = pool or sc.pool(),
    client = client or sc.client(),
    session_id = nil,
    in_ids = {},
    closes = {},
    pool_events = {},
    client_events = {},
    client_dead = false,
    sent_c2s = stream(), got_c2s = stream(),
    sent_s2c = stream(), got_s2c = stream(),
  }, World)
  return w
end

function World:client_send(n)
  local d = data(n)
  append(self.sent_c2s, d)
  self.client:send(d)
end

function World:server_send(n)
  local d = data(n)
  append(self.sent_s2c, d)
  self.pool:send(self.session_id, d)
end

-- Feeds `d` to `fn` in random pieces, some of one byte, as a socket may cut it.
local function in_pieces(d, fn)
  local sizes = { 1, 7, 300, 4096, 65536 }
  local k = 1
  while k <= #d do
    local n = sizes[randint(1, #sizes)]
    fn(d:sub(k, k + n - 1))
    k = k + n
  end
end

function World:client_in(m)
  if m.type == self.sc.MESSAGE_EVENT then
    self.client_events[#self.client_events + 1] = m.data
    return
  end
  check(m.type == self.sc.MESSAGE_IN, "client message type " .. tostring(m.type))
  check(type(m.data) == "string", "client data is a " .. type(m.data))
  if m.data == "" then
    self.client_dead = true
  else
    append(self.got_s2c, m.data)
  end
end

function World:server_in(m)
  if m.type == self.sc.POOL_EVENT then
    self.pool_events[#self.pool_events + 1] = m.data
    return
  end
  check(m.type == self.sc.POOL_IN, "pool message type " .. tostring(m.type))
  check(type(m.data) == "string" and #m.data > 0, "POOL_IN without data")
  if self.session_id == nil then self.session_id = m.id end
  self.in_ids[m.id] = true
  append(self.got_c2s, m.data)
end

-- Moves bytes over socket `fd` until nothing moves; server output for any
-- other fd is dropped (that socket is gone).
function World:pump(fd)
  local moved = true
  while moved do
    moved = false
    for _, m in ipairs(client_messages(self.client)) do
      moved = true
      if m.type == self.sc.MESSAGE_OUT then
        check(#m.data > 0, "empty MESSAGE_OUT")
        in_pieces(m.data, function(p) self.pool:recv(fd, p) end)
      else
        self:client_in(m)
      end
    end
    for _, m in ipairs(pool_messages(self.pool)) do
      moved = true
      if m.type == self.sc.POOL_OUT and m.data == "" then
        self.closes[#self.closes + 1] = m.id
      elseif m.type == self.sc.POOL_OUT then
        if m.id == fd then
          in_pieces(m.data, function(p) self.client:recv(p) end)
        end
      else
        self:server_in(m)
      end
    end
  end
end

-- The client's pending output dies with its socket, except its first
-- `delivered` bytes, which reach the pool on fd `deliver_to`.
function World:lose_client_output(deliver_to, delivered)
  delivered = delivered or 0
  local lost = 0
  for _, m in ipairs(client_messages(self.client)) do
    if m.type == self.sc.MESSAGE_OUT then
      local keep = math.min(delivered, #m.data)
      if keep > 0 then
        self.pool:recv(deliver_to, m.data:sub(1, keep))
        delivered = delivered - keep
      end
      lost = lost + #m.data - keep
    else
      self:client_in(m)
    end
  end
  return lost
end

-- The pool's pending output dies with its socket, except the first
-- `delivered` bytes for fd `deliver_from`, which reach the client.
function World:lose_server_output(deliver_from, delivered)
  delivered = delivered or 0
  local out, lost = {}, 0
  for _, m in ipairs(pool_messages(self.pool)) do
    if m.type == self.sc.POOL_OUT and m.data == "" then
      self.closes[#self.closes + 1] = m.id
    elseif m.type == self.sc.POOL_OUT then
      if m.id == deliver_from then
        out[#out + 1] = m.data
      else
        lost = lost + #m.data
      end
    else
      self:server_in(m)
    end
  end
  local all = table.concat(out)
  if delivered > 0 and #all > 0 then self.client:recv(all:sub(1, delivered)) end
  return lost + math.max(0, #all - delivered)
end

function World:check_streams(where)
  for _, dir in ipairs({ { "client->server", self.sent_c2s, self.got_c2s },
                         { "server->client", self.sent_s2c, self.got_s2c } }) do
    local sent, got = joined(dir[2]), joined(dir[3])
    if sent ~= got then
      fail(string.format("%s: %s stream differs: sent %d bytes, received %d, first difference at byte %d",
                         where, dir[1], #sent, #got, first_difference(sent, got)))
    end
  end
  check(not self.client_dead, where .. ": the client reported its connection dead")
  for id in pairs(self.in_ids) do
    check(id == self.session_id, string.format("%s: data arrived on session %d, expected only %s",
                                               where, id, tostring(self.session_id)))
  end
end

-- Each size both ways (the server's `extra` bytes longer), one pump on fd
-- and a check of both streams after each.
function World:exchange(sizes, extra, fd, where)
  for _, n in ipairs(sizes) do
    self:client_send(n)
    self:server_send(n + extra)
    self:pump(fd)
    self:check_streams(where .. " of " .. n .. " bytes")
  end
end

-- `count` messages of random size up to `most` each way, then one pump.
function World:burst(count, most, fd)
  for _ = 1, count do
    self:client_send(randint(1, most))
    self:server_send(randint(1, most))
  end
  self:pump(fd)
  self:check_streams("burst")
end

local function closes_string(w)
  return "{" .. table.concat(w.closes, ",") .. "}"
end


return { new_world = new_world, closes_string = closes_string }
end
