-- An echo server on the Lua module, over LuaSocket (Debian: lua-socket):
-- every line a client sends comes back in upper case, and the line "bye"
-- ends the client's session. Sessions survive their sockets: a client that
-- reconnects and resumes carries on where it was.
--
-- Usage: lua5.4 server.lua [PORT [SESSIONS]]
--   PORT 0 takes any free port (the first line printed says which); with
--   SESSIONS, the server exits once that many sessions have said "bye".
local sc = require "stableconn"
local socket = require "socket"

local port, sessions_left = tonumber(arg[1]) or 8888, tonumber(arg[2]) or math.huge

local pool = sc.pool()                 -- one pool for every client
local listener = assert(socket.bind("127.0.0.1", port))
listener:settimeout(0)
print("listening on port " .. select(2, listener:getsockname()))
io.stdout:flush()

local socks = {}  -- fd -> socket
local lines = {}  -- session id -> the start of a line not finished yet
local broken = {} -- fds whose write failed while the pool was being drained
local ending = {} -- sessions that said "bye"

-- Blocking, to keep the example short: a real service keeps what a socket
-- does not take and writes it, in order, once the socket is writable.
local function write_all(s, data)
  local i = 1
  while i <= #data do
    local last, err, partial = s:send(data, i)
    if last then
      i = last + 1
    elseif err == "timeout" then
      i = partial + 1
      socket.select(nil, { s }, 1)
    else
      return false
    end
  end
  return true
end

local function on_data(id, data)       -- session `id` sent `data`
  local text = (lines[id] or "") .. data
  for line in text:gmatch("([^\n]*)\n") do
    pool:send(id, line:upper() .. "\n")
    if line == "bye" then ending[#ending + 1] = id end
  end
  lines[id] = text:match("[^\n]*$")
end

-- After EVERY recv, send, close_session and timeout: poll until empty.
local function drain()
  for t, id, data in pool:messages() do
    if t == sc.POOL_OUT and data == "" then
      -- close socket `id`; the pool has forgotten it already
      if socks[id] then socks[id]:close() end
      socks[id] = nil
    elseif t == sc.POOL_OUT then       -- `id` is a socket fd here
      if socks[id] and not write_all(socks[id], data) then broken[#broken + 1] = id end
    else                               -- POOL_IN: `id` is a session id
      on_data(id, data)
    end
  end
end

-- A socket is gone: close it, and tell the pool (its session waits for its
-- client to come back).
local function lost(fd)
  if socks[fd] then socks[fd]:close() end
  socks[fd] = nil
  pool:socket_closed(fd)
end

local last_tick = socket.gettime()
while sessions_left > 0 do
  local readable = { listener }
  for _, s in pairs(socks) do readable[#readable + 1] = s end
  readable = socket.select(readable, nil, 1)
  for _, s in ipairs(readable) do
    if s == listener then
      local new = listener:accept()
      if new then
        new:settimeout(0)
        socks[new:getfd()] = new
        pool:socket_opened(new:getfd()) -- a socket that never speaks times out too
      end
    elseif socks[s:getfd()] == s then
      local fd = s:getfd()
      local data, err, partial = s:receive(65536)
      data = data or partial
      if data ~= "" then pool:recv(fd, data) end
      if err and err ~= "timeout" then lost(fd) end -- "closed": end of file
    end
    drain()
  end
  -- Once the drain is over: the writes that failed, then the sessions to
  -- end (their answers have been written: close_session drops what the
  -- poll has not handed out yet).
  while #broken > 0 do
    lost(table.remove(broken))
    drain()
  end
  while #ending > 0 do
    pool:close_session(table.remove(ending)) -- the close of its socket comes out of the poll
    sessions_left = sessions_left - 1
    drain()
  end
  if socket.gettime() - last_tick >= 1 then
    last_tick = socket.gettime()
    pool:timeout()
    drain()
  end
end
pool:close()
listener:close()
