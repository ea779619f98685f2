-- A client of server.lua, over LuaSocket (Debian: lua-socket). It sends a
-- line, breaks its socket on purpose with a second line just written,
-- connects a new socket and resumes the session, then says "bye". Every
-- answer arrives once and in order, whichever socket carried it.
--
-- Usage: lua5.4 client.lua [HOST [PORT]]
-- Exits 0 once the server has answered "BYE", 1 if an answer is wrong or
-- does not come within 10 seconds.
local sc = require "stableconn"
local socket = require "socket"

local host, port = arg[1] or "127.0.0.1", tonumber(arg[2]) or 8888

local client = sc.client()             -- queues the new-connection handshake
local conn                             -- the current socket
local received = ""                    -- what the server sent, all sockets together

local function write_all(s, data)      -- as in server.lua
  local i = 1
  while i <= #data do
    local last, err, partial = s:send(data, i)
    if last then
      i = last + 1
    elseif err == "timeout" then
      i = partial + 1
      socket.select(nil, { s }, 1)
    else
      return false                     -- the next read notices the socket is gone
    end
  end
  return true
end

-- After EVERY recv, send and handshake: poll until empty.
local function drain()
  for t, data in client:messages() do
    if t == sc.MESSAGE_OUT then
      write_all(conn, data)
    elseif data == "" then             -- MESSAGE_IN of size 0: the session is dead
      error("the session is dead")
    else
      received = received .. data
    end
  end
end

local function connect()
  conn = assert(socket.connect(host, port))
  conn:settimeout(0)
end

local function reconnect()
  conn:close()                         -- unwritten or undelivered bytes: resent
  connect()                            -- a new socket ...
  client:handshake()                   -- ... takes the session over
  drain()
end

-- Reads until `text` has arrived, reconnecting whenever the socket is lost.
local function wait_for(text)
  local deadline, gone = socket.gettime() + 10, false
  while not received:find(text, 1, true) do
    if socket.gettime() > deadline then error("no " .. text:gsub("\n", "") .. " from the server") end
    if gone then reconnect() end
    gone = false
    if socket.select({ conn }, nil, 1)[conn] then
      local data, err, partial = conn:receive(65536)
      data = data or partial
      if data ~= "" then
        client:recv(data)
        drain()
      end
      -- End of file: never client:recv(""), which gives the session up.
      gone = err == "closed"
    end
  end
end

connect()
client:send("hello\n")                 -- goes out once the handshake is done
drain()
wait_for("HELLO\n")                    -- version 1: resume only after receiving

client:send("still here\n")
drain()
reconnect()                            -- the socket breaks, a line just written
wait_for("STILL HERE\n")

client:send("bye\n")
drain()
wait_for("BYE\n")
local resumes = client:stats().reuses
conn:close()
client:close()

if received ~= "HELLO\nSTILL HERE\nBYE\n" or resumes ~= 1 then
  io.stderr:write(string.format("client: received %q, %d resumes (expected 1)\n", received, resumes))
  os.exit(1)
end
print("client: " .. received:gsub("\n", " "):gsub(" $", ""))
